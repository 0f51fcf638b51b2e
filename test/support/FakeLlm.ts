import { Effect, Layer, Ref } from "effect"
import type { LlmUnavailable } from "../../src/Domain/Errors.js"
import { type ChatRequest, LlmClient } from "../../src/Llm/LlmClient.js"

/** What a fake model answers for one request: text, or an effect (to sleep, fail, ...). */
export type FakeLlmHandler = (request: ChatRequest, callIndex: number) => string | Effect.Effect<string, LlmUnavailable>

/**
 * A deterministic in-process model for tests and benchmarks. It records every request so a test
 * can assert what was asked (and how often).
 */
export class FakeLlm extends Effect.Service<FakeLlm>()("engram/FakeLlm", {
  effect: Effect.gen(function*() {
    const calls = yield* Ref.make<ReadonlyArray<ChatRequest>>([])
    return {
      calls: Ref.get(calls),
      record: (request: ChatRequest) => Ref.getAndUpdate(calls, (all) => [...all, request]).pipe(Effect.map((all) => all.length))
    }
  })
}) {}

/** Provides both `LlmClient` (answering through `handler`) and `FakeLlm` (the recorded calls). */
export const fakeLlmLayer = (handler: FakeLlmHandler): Layer.Layer<LlmClient | FakeLlm> =>
  Layer.effect(
    LlmClient,
    Effect.gen(function*() {
      const fake = yield* FakeLlm
      return {
        model: "fake",
        chat: (request: ChatRequest) =>
          fake.record(request).pipe(
            Effect.flatMap((index) => {
              const answer = handler(request, index)
              return typeof answer === "string" ? Effect.succeed(answer) : answer
            }),
            Effect.map((content) => ({ content, model: "fake" }))
          )
      }
    })
  ).pipe(Layer.provideMerge(FakeLlm.Default))
