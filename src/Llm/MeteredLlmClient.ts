import { Effect, Layer, Metric } from "effect"
import { llmCalls, llmFailures } from "../Observability/Metrics.js"
import { LlmClient } from "./LlmClient.js"

/** Wraps whichever LlmClient is provided with call and failure counters. */
export const withLlmMetrics = <E, R>(inner: Layer.Layer<LlmClient, E, R>): Layer.Layer<LlmClient, E, R> =>
  Layer.effect(
    LlmClient,
    Effect.map(LlmClient, (llm) =>
      LlmClient.of({
        model: llm.model,
        chat: (request) =>
          llm.chat(request).pipe(
            Effect.tap(() => Metric.increment(Metric.tagged(llmCalls, "purpose", request.purpose))),
            Effect.tapError((error) =>
              Metric.increment(
                Metric.tagged(Metric.tagged(llmFailures, "purpose", request.purpose), "retryable", String(error.retryable))
              ).pipe(Effect.zipRight(Metric.increment(Metric.tagged(llmCalls, "purpose", request.purpose))))
            )
          )
      }))
  ).pipe(Layer.provide(inner))
