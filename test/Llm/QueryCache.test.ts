import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { EmbedderUnavailable } from "../../src/Llm/Embedder.js"
import { cachedQueries } from "../../src/Llm/QueryCache.js"

/** An embedOne that counts its calls and fails on "fail". */
const counting = () => {
  const calls: Array<string> = []
  const embedOne = (query: string) =>
    Effect.suspend(() => {
      calls.push(query)
      return query === "fail"
        ? Effect.fail(new EmbedderUnavailable({ reason: "down", retryable: true }))
        : Effect.succeed(Float32Array.from([query.length, calls.length]))
    })
  return { calls, embedOne }
}

describe("cachedQueries", () => {
  it.effect("answers a repeated query from the cache, with the same vector", () =>
    Effect.gen(function*() {
      const { calls, embedOne } = counting()
      const embedQuery = yield* cachedQueries(embedOne, 4)
      const first = yield* embedQuery("where does Maria live")
      expect(yield* embedQuery("where does Maria live")).toBe(first)
      expect(calls).toEqual(["where does Maria live"])
    }))

  it.effect("evicts the least recently used query beyond its capacity", () =>
    Effect.gen(function*() {
      const { calls, embedOne } = counting()
      const embedQuery = yield* cachedQueries(embedOne, 2)
      yield* embedQuery("a")
      yield* embedQuery("b")
      yield* embedQuery("a") // now "b" is the eldest
      yield* embedQuery("c") // evicts "b"
      yield* embedQuery("a")
      expect(calls).toEqual(["a", "b", "c"])
      yield* embedQuery("b")
      expect(calls).toEqual(["a", "b", "c", "b"])
    }))

  it.effect("does not cache failures", () =>
    Effect.gen(function*() {
      const { calls, embedOne } = counting()
      const embedQuery = yield* cachedQueries(embedOne, 2)
      expect((yield* Effect.flip(embedQuery("fail")))._tag).toBe("EmbedderUnavailable")
      yield* Effect.flip(embedQuery("fail"))
      expect(calls).toEqual(["fail", "fail"])
    }))
})
