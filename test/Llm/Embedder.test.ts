import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import type { HttpClient } from "@effect/platform"
import { Cause, ConfigProvider, Duration, Effect, Either, Option, Redacted, type Scope } from "effect"
import { EmbedderChoiceConfig, type EmbedderSettings, EmbedderSettingsConfig } from "../../src/Config/EngramConfig.js"
import { fakeEmbedding } from "../support/FakeEmbedder.js"
import { makeOpenAiEmbedder, type OpenAiEmbedderOptions, vectorsOfAnswer } from "../../src/Llm/OpenAiEmbedder.js"
import { FakeReply, makeFakeLlmServer, type RecordedRequest } from "../support/FakeLlmServer.js"

const DIMENSIONS = 4

const settingsFor = (baseUrl: string, overrides: Partial<EmbedderSettings> = {}): EmbedderSettings => ({
  baseUrl,
  apiKey: Option.none(),
  model: "embed-test",
  dimensions: DIMENSIONS,
  timeout: Duration.seconds(5),
  batchSize: 64,
  maxConcurrency: 2,
  maxRetries: 2,
  ...overrides
})

const fast: OpenAiEmbedderOptions = { retryBaseDelay: "5 millis", maxRetryDelay: "200 millis" }

const vectorOf = (text: string) => Array.from({ length: DIMENSIONS }, (_, i) => text.length + i)

/** Answers every /embeddings request with one vector per input, derived from the text. */
const echoEmbeddings = (request: RecordedRequest) =>
  FakeReply.embeddings(((request.body as { input: ReadonlyArray<string> }).input).map(vectorOf))

const setup = (overrides: Partial<EmbedderSettings> = {}) =>
  Effect.gen(function*() {
    const server = yield* makeFakeLlmServer({ handler: echoEmbeddings })
    const embedder = yield* makeOpenAiEmbedder(settingsFor(server.baseUrl, overrides), fast)
    return { server, embedder }
  })

/** A real-time test with a real HTTP client (undici) for its whole duration. */
const live = <A, E>(name: string, body: Effect.Effect<A, E, Scope.Scope | HttpClient.HttpClient>) =>
  it.scopedLive(name, () => body.pipe(Effect.provide(NodeHttpClient.layerUndici)))

const embeddingRequests = (server: { requests: Effect.Effect<ReadonlyArray<RecordedRequest>> }) =>
  Effect.map(server.requests, (all) => all.filter((r) => r.path === "/embeddings"))

describe("OpenAiEmbedder", () => {
  live("embeds in batches, in order, with model, input and bearer auth",
    Effect.gen(function*() {
      const { embedder, server } = yield* setup({ batchSize: 2, apiKey: Option.some(Redacted.make("sk-embed")) })
      const texts = ["a", "bb", "ccc", "dddd", "eeeee"]
      const vectors = yield* embedder.embed(texts)
      expect(vectors.map((v) => Array.from(v))).toEqual(texts.map(vectorOf))
      expect(vectors.every((v) => v instanceof Float32Array)).toBe(true)
      const requests = yield* embeddingRequests(server)
      expect(requests.map((r) => (r.body as { input: Array<string> }).input).sort()).toEqual([["a", "bb"], ["ccc", "dddd"], ["eeeee"]])
      expect(requests[0]!.body).toMatchObject({ model: "embed-test" })
      expect(requests[0]!.headers["authorization"]).toBe("Bearer sk-embed")
      expect(yield* embedder.embed([])).toEqual([])
    }))

  live("embedQuery asks the endpoint once for a repeated query",
    Effect.gen(function*() {
      const { embedder, server } = yield* setup()
      const first = yield* embedder.embedQuery("where does Maria live")
      expect(Array.from(first)).toEqual(vectorOf("where does Maria live"))
      expect(yield* embedder.embedQuery("where does Maria live")).toBe(first)
      expect(yield* embeddingRequests(server)).toHaveLength(1)
    }))

  live("orders vectors by their index, whatever order the server sends them in",
    Effect.gen(function*() {
      const { embedder, server } = yield* setup()
      const body = JSON.stringify({ data: [{ index: 1, embedding: [2, 2, 2, 2] }, { index: 0, embedding: [1, 1, 1, 1] }] })
      yield* server.scriptFor("/embeddings", FakeReply.status(200, body))
      const vectors = yield* embedder.embed(["first", "second"])
      expect(vectors.map((v) => Array.from(v))).toEqual([[1, 1, 1, 1], [2, 2, 2, 2]])
    }))

  live("a 200 with an empty data array is an error, not retried",
    Effect.gen(function*() {
      const { embedder, server } = yield* setup()
      yield* server.scriptFor("/embeddings", FakeReply.embeddings([]))
      const error = yield* Effect.flip(embedder.embed(["hello"]))
      expect(error._tag).toBe("EmbedderUnavailable")
      expect(error.retryable).toBe(false)
      expect(error.reason).toContain("0 embeddings for 1 inputs")
      expect(yield* embeddingRequests(server)).toHaveLength(1)
    }))

  live("a vector of the wrong width is an error naming ENGRAM_EMBED_DIMENSIONS, not retried",
    Effect.gen(function*() {
      const { embedder, server } = yield* setup()
      yield* server.scriptFor("/embeddings", FakeReply.embeddings([[1, 2, 3]]))
      const error = yield* Effect.flip(embedder.embed(["hello"]))
      expect(error.reason).toContain("3 dimensions, expected 4")
      expect(error.reason).toContain("ENGRAM_EMBED_DIMENSIONS")
      expect(yield* embeddingRequests(server)).toHaveLength(1)
    }))

  live("an answer without embeddings or with cut-off JSON is an error",
    Effect.gen(function*() {
      const { embedder, server } = yield* setup()
      yield* server.scriptFor("/embeddings", FakeReply.missingFields, FakeReply.truncatedJson)
      expect((yield* Effect.flip(embedder.embed(["x"]))).reason).toContain("malformed embeddings answer")
      expect((yield* Effect.flip(embedder.embed(["x"]))).reason).toContain("malformed embeddings answer")
    }))

  live("retries transient failures (5xx, 429 with Retry-After, reset) with backoff, then succeeds",
    Effect.gen(function*() {
      const { embedder, server } = yield* setup({ maxRetries: 3 })
      yield* server.scriptFor("/embeddings", FakeReply.status(500), FakeReply.rateLimited("0"), FakeReply.reset)
      expect((yield* embedder.embed(["abc"])).map((v) => Array.from(v))).toEqual([vectorOf("abc")])
      expect(yield* embeddingRequests(server)).toHaveLength(4)
    }))

  live("gives up after maxRetries retries of a persistent failure, and never retries a 400",
    Effect.gen(function*() {
      const { embedder, server } = yield* setup({ maxRetries: 2 })
      yield* server.scriptFor("/embeddings", FakeReply.status(503), FakeReply.status(503), FakeReply.status(503))
      const error = yield* Effect.flip(embedder.embed(["abc"]))
      expect(error.status).toBe(503)
      expect(yield* embeddingRequests(server)).toHaveLength(3)
      yield* server.scriptFor("/embeddings", FakeReply.status(400))
      expect((yield* Effect.flip(embedder.embed(["abc"]))).status).toBe(400)
      expect(yield* embeddingRequests(server)).toHaveLength(4)
    }))

  live("bounds each attempt by the timeout (a hung server is retried, then reported)",
    Effect.gen(function*() {
      const { embedder, server } = yield* setup({ timeout: Duration.millis(150), maxRetries: 1 })
      yield* server.scriptFor("/embeddings", FakeReply.hang, FakeReply.hang)
      const error = yield* Effect.flip(embedder.embed(["abc"]))
      expect(error.reason).toContain("no answer within 150 ms")
      expect(yield* embeddingRequests(server)).toHaveLength(2)
    }))
})

describe("vectorsOfAnswer", () => {
  it("accepts answers without indexes in order, refuses gaps and non-finite numbers", () => {
    expect(Either.isRight(vectorsOfAnswer(JSON.stringify({ data: [{ embedding: [1, 2] }] }), 1, 2))).toBe(true)
    const gap = vectorsOfAnswer(JSON.stringify({ data: [{ index: 0, embedding: [1, 2] }, { index: 2, embedding: [1, 2] }] }), 2, 2)
    expect(Either.isLeft(gap) && gap.left).toContain("no embedding for input 1")
    expect(Either.isLeft(vectorsOfAnswer("{\"data\":[{\"embedding\":[1,null]}]}", 1, 2))).toBe(true)
  })
})

describe("EmbedderSettingsConfig", () => {
  const read = (env: Record<string, string>) =>
    Effect.runSyncExit(Effect.withConfigProvider(EmbedderSettingsConfig, ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_" })))
  it("is none when nothing is set, and needs base URL, model and dimensions together", () => {
    expect(read({})).toMatchObject({ _tag: "Success", value: Option.none() })
    const full = read({ ENGRAM_EMBED_BASE_URL: "http://localhost:11434/v1/", ENGRAM_EMBED_MODEL: "nomic-embed-text", ENGRAM_EMBED_DIMENSIONS: "768" })
    expect(full._tag === "Success" && Option.getOrThrow(full.value)).toMatchObject({
      baseUrl: "http://localhost:11434/v1",
      model: "nomic-embed-text",
      dimensions: 768,
      batchSize: 64
    })
    expect(read({ ENGRAM_EMBED_BASE_URL: "http://x/v1", ENGRAM_EMBED_MODEL: "m" })._tag).toBe("Failure")
    expect(read({ ENGRAM_EMBED_API_KEY: "k" })._tag).toBe("Failure")
    expect(read({ ENGRAM_EMBED_BASE_URL: "http://x/v1", ENGRAM_EMBED_MODEL: "m", ENGRAM_EMBED_DIMENSIONS: "0" })._tag).toBe("Failure")
  })
})

describe("EmbedderChoiceConfig (ENGRAM_EMBEDDER)", () => {
  const read = (env: Record<string, string>) =>
    Effect.runSyncExit(Effect.withConfigProvider(EmbedderChoiceConfig, ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_" })))
  const endpoint = { ENGRAM_EMBED_BASE_URL: "http://localhost:11434/v1", ENGRAM_EMBED_MODEL: "nomic-embed-text", ENGRAM_EMBED_DIMENSIONS: "768" }
  const failure = (env: Record<string, string>) => {
    const exit = read(env)
    return exit._tag === "Failure" ? String(Cause.squash(exit.cause)) : "no failure"
  }

  it("defaults to the local model, or to the endpoint when ENGRAM_EMBED_BASE_URL is set", () => {
    expect(read({})).toMatchObject({ _tag: "Success", value: { _tag: "Local", settings: { timeout: Duration.seconds(30) } } })
    expect(read({ ENGRAM_EMBED_TIMEOUT: "5 seconds" })).toMatchObject({ value: { _tag: "Local", settings: { timeout: Duration.seconds(5) } } })
    expect(read(endpoint)).toMatchObject({ _tag: "Success", value: { _tag: "OpenAi", settings: { model: "nomic-embed-text", dimensions: 768 } } })
    expect(read({ ...endpoint, ENGRAM_EMBEDDER: "openai" })).toMatchObject({ value: { _tag: "OpenAi" } })
    expect(read({ ENGRAM_EMBEDDER: "local" })).toMatchObject({ value: { _tag: "Local" } })
  })

  it("off switches embedding off, even with an endpoint configured", () => {
    expect(read({ ENGRAM_EMBEDDER: "off" })).toMatchObject({ _tag: "Success", value: { _tag: "Off" } })
    expect(read({ ...endpoint, ENGRAM_EMBEDDER: "off" })).toMatchObject({ _tag: "Success", value: { _tag: "Off" } })
  })

  it("contradictions and unknown kinds are errors naming the variable", () => {
    expect(failure({ ENGRAM_EMBEDDER: "openai" })).toContain("EMBED_BASE_URL")
    expect(failure({ ...endpoint, ENGRAM_EMBEDDER: "local" })).toContain("EMBEDDER")
    expect(failure({ ENGRAM_EMBEDDER: "bert" })).toContain("EMBEDDER")
  })
})

describe("fakeEmbedding", () => {
  it("is deterministic, unit length, and puts texts sharing words nearer than unrelated ones", () => {
    const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0)
    const run = fakeEmbedding("Alice went running by the river", 64)
    expect(Array.from(run)).toEqual(Array.from(fakeEmbedding("Alice went running by the river", 64)))
    expect(cosine(run, run)).toBeCloseTo(1, 5)
    expect(cosine(run, fakeEmbedding("she runs by the river", 64))).toBeGreaterThan(cosine(run, fakeEmbedding("paella with saffron", 64)))
  })
})
