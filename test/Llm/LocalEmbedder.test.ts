import { describe, expect, it, layer } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Embedder } from "../../src/Llm/Embedder.js"
import { CALL_TEXTS, LOCAL_DIMENSIONS, LOCAL_MODEL, LocalEmbedder, makeLocalEmbedder } from "../../src/Llm/LocalEmbedder.js"

const cosine = (a: Float32Array, b: Float32Array) => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return dot / Math.sqrt(na * nb)
}

// The real model, started once for these tests (in its worker thread, from the package's files).
layer(LocalEmbedder.layer({ timeout: Duration.seconds(60) }), { timeout: 120_000 })("the bundled model", (it) => {
  it.effect("embeds every text into a 512-d unit vector, in order across calls; a paraphrase is nearer than an unrelated text", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder
      expect(embedder.model).toBe(LOCAL_MODEL)
      expect(embedder.dimensions).toBe(LOCAL_DIMENSIONS)
      const texts = [
        "I adopted a puppy last week",
        "We got a new dog recently",
        "The quarterly tax filing is due on Monday",
        "",
        ...Array.from({ length: CALL_TEXTS + 2 }, (_, i) => `Note ${i}: the hiking trail near the lake was closed`)
      ]
      const vectors = yield* embedder.embed(texts)
      expect(vectors).toHaveLength(texts.length)
      for (const vector of vectors) {
        expect(vector).toHaveLength(LOCAL_DIMENSIONS)
        expect(cosine(vector, vector)).toBeCloseTo(1, 5)
        expect(Math.hypot(...vector)).toBeCloseTo(1, 2)
      }
      expect(cosine(vectors[0]!, vectors[1]!)).toBeGreaterThan(cosine(vectors[0]!, vectors[2]!) + 0.2)
      // The last text went in the second call: its vector is the one the text gets on its own.
      const alone = yield* embedder.embedQuery(texts.at(-1)!)
      expect(cosine(alone, vectors.at(-1)!)).toBeGreaterThan(0.999)
      expect(yield* embedder.embed([])).toEqual([])
    }), 120_000) // The first call starts the thread: seconds on a saturated machine.

  it.effect("answers a repeated query from its cache", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder
      const first = yield* embedder.embedQuery("where does Maria's sister live?")
      expect(yield* embedder.embedQuery("where does Maria's sister live?")).toBe(first)
    }), 120_000)
})

/** The scripted thread: vectors are [thread id, call number on that thread, text length, 0]. */
const scripted = new URL("../support/scriptedEmbedWorker.ts", import.meta.url)
const scriptedEmbedder = (timeout: Duration.DurationInput = "30 seconds", dimensions = 4) =>
  makeLocalEmbedder({ timeout: Duration.decode(timeout) }, { workerEntry: scripted, model: "scripted", dimensions })

const threadOf = (vector: Float32Array) => vector[0]!
const callOf = (vector: Float32Array) => vector[1]!

// Each test starts a scripted thread (tsx transpiles it): seconds on a saturated machine.
describe("the embedding thread", { timeout: 60_000 }, () => {
  it.scopedLive("a crash fails the call in flight cleanly; the next call runs on a new thread", () =>
    Effect.gen(function*() {
      const embedder = yield* scriptedEmbedder()
      const [before] = yield* embedder.embed(["a"])
      const error = yield* Effect.flip(embedder.embed(["crash"]))
      expect(error).toMatchObject({ _tag: "EmbedderUnavailable", retryable: true })
      expect(error.reason).toContain("exited with code 3")
      const [after] = yield* embedder.embed(["b"])
      expect(threadOf(after!)).not.toBe(threadOf(before!))
      expect(callOf(after!)).toBe(0)
    }))

  it.scopedLive("a thread that does not answer within the timeout is terminated and replaced", () =>
    Effect.gen(function*() {
      // 2 s bounds only the scripted answers (instant); starting the thread has its own bound.
      const embedder = yield* scriptedEmbedder("2 seconds")
      const [before] = yield* embedder.embed(["a"])
      const error = yield* Effect.flip(embedder.embed(["hang"]))
      expect(error).toMatchObject({ _tag: "EmbedderUnavailable", retryable: true })
      expect(error.reason).toContain("no embeddings within 2000 ms")
      const [after] = yield* embedder.embed(["b"])
      expect(threadOf(after!)).not.toBe(threadOf(before!))
    }))

  it.scopedLive("a text the model fails on fails its call but keeps the thread", () =>
    Effect.gen(function*() {
      const embedder = yield* scriptedEmbedder()
      const [before] = yield* embedder.embed(["a"])
      const error = yield* Effect.flip(embedder.embed(["throw"]))
      expect(error).toMatchObject({ _tag: "EmbedderUnavailable", retryable: false })
      expect(error.reason).toContain("scripted failure")
      const [after] = yield* embedder.embed(["b"])
      expect(threadOf(after!)).toBe(threadOf(before!))
      expect(callOf(after!)).toBe(2)
    }))

  it.scopedLive("a thread of the wrong width is refused at start", () =>
    Effect.gen(function*() {
      const embedder = yield* scriptedEmbedder("30 seconds", 8)
      const error = yield* Effect.flip(embedder.embed(["a"]))
      expect(error).toMatchObject({ _tag: "EmbedderUnavailable", retryable: false })
      expect(error.reason).toContain("answers 4 dimensions, expected 8")
    }))

  it.scopedLive("a query goes ahead of queued batch work", () =>
    Effect.gen(function*() {
      const gate = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-gate-")), "open")
      const embedder = yield* scriptedEmbedder()
      yield* embedder.embed(["start the thread"])
      // The first batch holds the thread until the gate opens; the second batch and the query queue meanwhile.
      // Each fork reaches the queue (and the first one the thread) with no I/O on the way: a real
      // pause after it runs only once that is done, however slow the machine.
      const held = yield* Effect.fork(embedder.embed([`gate:${gate}`]))
      yield* Effect.sleep("50 millis")
      const batch = yield* Effect.fork(embedder.embed(Array.from({ length: CALL_TEXTS }, (_, i) => `batch ${i}`)))
      yield* Effect.sleep("50 millis")
      const query = yield* Effect.fork(embedder.embedQuery("the query"))
      yield* Effect.sleep("50 millis")
      Fs.writeFileSync(gate, "")
      const [heldVector] = yield* Fiber.join(held)
      const [batchVector] = yield* Fiber.join(batch)
      const queryVector = yield* Fiber.join(query)
      expect(callOf(heldVector!)).toBe(1)
      expect(callOf(queryVector)).toBe(2)
      expect(callOf(batchVector!)).toBe(3)
    }))
})
