import { Effect, Layer, Metric } from "effect"
import { llmCalls, llmCompletionTokens, llmFailures, llmPromptTokens } from "../Observability/Metrics.js"
import { TokenCounter } from "../Text/TokenCounter.js"
import { type ChatRequest, type ChatResponse, LlmClient } from "./LlmClient.js"

const tagged = (metric: typeof llmPromptTokens, purpose: string, source: "provider" | "estimated") =>
  Metric.tagged(Metric.tagged(metric, "purpose", purpose), "source", source)

/**
 * Wraps whichever LlmClient is provided with call, failure and token counters. Tokens are what
 * the provider's `usage` says; when it says nothing, the cl100k count of the prompt messages and
 * of the answer (an estimate for other tokenizers, and without the few template tokens per message).
 */
export const withLlmMetrics = <E, R>(inner: Layer.Layer<LlmClient, E, R>): Layer.Layer<LlmClient, E, R | TokenCounter> =>
  Layer.effect(
    LlmClient,
    Effect.gen(function*() {
      const llm = yield* LlmClient
      const tokens = yield* TokenCounter

      const countTokens = (request: ChatRequest, response: ChatResponse) => {
        const provided = response.usage
        const prompt = provided?.promptTokens
        const completion = provided?.completionTokens
        return Effect.all([
          Metric.incrementBy(
            tagged(llmPromptTokens, request.purpose, prompt === undefined ? "estimated" : "provider"),
            prompt ?? request.messages.reduce((sum, message) => sum + tokens.count(message.content), 0)
          ),
          Metric.incrementBy(
            tagged(llmCompletionTokens, request.purpose, completion === undefined ? "estimated" : "provider"),
            completion ?? tokens.count(response.content)
          )
        ], { discard: true })
      }

      return LlmClient.of({
        model: llm.model,
        chat: (request) =>
          llm.chat(request).pipe(
            Effect.tap(() => Metric.increment(Metric.tagged(llmCalls, "purpose", request.purpose))),
            Effect.tap((response) => countTokens(request, response)),
            Effect.tapError((error) =>
              Metric.increment(
                Metric.tagged(Metric.tagged(llmFailures, "purpose", request.purpose), "retryable", String(error.retryable))
              ).pipe(Effect.zipRight(Metric.increment(Metric.tagged(llmCalls, "purpose", request.purpose))))
            )
          )
      })
    })
  ).pipe(Layer.provide(inner))
