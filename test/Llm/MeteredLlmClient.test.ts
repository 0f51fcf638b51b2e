import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { fakeLlmLayer } from "../support/FakeLlm.js"
import { LlmClient } from "../../src/Llm/LlmClient.js"
import { withLlmMetrics } from "../../src/Llm/MeteredLlmClient.js"
import { llmCompletionTokens, llmPromptTokens } from "../../src/Observability/Metrics.js"
import { TokenCounter } from "../../src/Text/TokenCounter.js"
import { vi } from "vitest"

// Building the tokenizer takes seconds on a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 })

const counter = (metric: typeof llmPromptTokens, purpose: string, source: string) =>
  Metric.value(Metric.tagged(Metric.tagged(metric, "purpose", purpose), "source", source)).pipe(Effect.map((state) => state.count))

/** A client that reports `usage` the way a provider does, or not at all. */
const reporting = (usage: { promptTokens: number; completionTokens: number } | undefined) =>
  Layer.effect(
    LlmClient,
    Effect.map(LlmClient, (inner) =>
      LlmClient.of({
        model: inner.model,
        chat: (request) => Effect.map(inner.chat(request), (response) => (usage === undefined ? response : { ...response, usage }))
      }))
  ).pipe(Layer.provide(fakeLlmLayer(() => "{\"boundaries\": []}")))

const ask = (purpose: string) =>
  Effect.flatMap(LlmClient, (llm) =>
    llm.chat({ purpose, messages: [{ role: "system", content: "You split chats." }, { role: "user", content: "[1] 09:00 Alice: hi" }] }))

describe("LLM token metrics", () => {
  it.effect("count the provider's usage per purpose when it is reported", () =>
    Effect.gen(function*() {
      const [prompt, completion] = [yield* counter(llmPromptTokens, "usage-test", "provider"), yield* counter(llmCompletionTokens, "usage-test", "provider")]
      yield* ask("usage-test")
      yield* ask("usage-test")
      expect((yield* counter(llmPromptTokens, "usage-test", "provider")) - prompt).toBe(2 * 120)
      expect((yield* counter(llmCompletionTokens, "usage-test", "provider")) - completion).toBe(2 * 7)
    }).pipe(Effect.provide(withLlmMetrics(reporting({ promptTokens: 120, completionTokens: 7 })).pipe(Layer.provide(TokenCounter.Default)))))

  it.effect("estimate with cl100k what was sent and received when the provider reports nothing", () =>
    Effect.gen(function*() {
      const tokens = yield* TokenCounter
      const before = yield* counter(llmPromptTokens, "estimate-test", "estimated")
      const completionBefore = yield* counter(llmCompletionTokens, "estimate-test", "estimated")
      yield* ask("estimate-test")
      expect((yield* counter(llmPromptTokens, "estimate-test", "estimated")) - before).toBe(
        tokens.count("You split chats.") + tokens.count("[1] 09:00 Alice: hi")
      )
      expect((yield* counter(llmCompletionTokens, "estimate-test", "estimated")) - completionBefore).toBe(tokens.count("{\"boundaries\": []}"))
    }).pipe(Effect.provide(withLlmMetrics(reporting(undefined)).pipe(Layer.provideMerge(TokenCounter.Default)))))
})
