import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Option, Redacted } from "effect"
import type { LlmSettings } from "../../src/Config/EngramConfig.js"
import { type ChatRequest, LlmClient } from "../../src/Llm/LlmClient.js"
import {
  isRetryableStatus,
  makeOpenAiLlmClient,
  OpenAiLlmClient,
  type OpenAiLlmClientOptions,
  parseRetryAfter
} from "../../src/Llm/OpenAiLlmClient.js"
import { FakeReply, makeFakeLlmServer } from "../support/FakeLlmServer.js"

const settingsFor = (baseUrl: string, overrides: Partial<LlmSettings> = {}): LlmSettings => ({
  baseUrl,
  apiKey: Option.none(),
  model: "test-model",
  timeout: Duration.seconds(5),
  maxConcurrency: 4,
  maxRetries: 3,
  ...overrides
})

/** Tiny backoffs so real-time retry tests stay fast. */
const fast: OpenAiLlmClientOptions = { retryBaseDelay: "5 millis", maxRetryDelay: "400 millis" }

const request: ChatRequest = {
  purpose: "test",
  messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hello" }]
}

/** A started fake server plus a real client (undici) pointed at it. */
const setup = (overrides: Partial<LlmSettings> = {}, options: OpenAiLlmClientOptions = fast) =>
  Effect.gen(function*() {
    const server = yield* makeFakeLlmServer()
    const llm = yield* makeOpenAiLlmClient(settingsFor(server.baseUrl, overrides), options)
    return { server, llm }
  })

const elapsedMs = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = Date.now()
    const result = yield* effect
    return [result, Date.now() - start] as const
  })

describe("OpenAiLlmClient", () => {
  it.scopedLive("answers, sends bearer auth, model, temperature and json response_format", () =>
    Effect.gen(function*() {
      const { llm, server } = yield* setup({ apiKey: Option.some(Redacted.make("sk-secret")) })
      yield* server.script(FakeReply.answer("{\"ok\":true}", "served-model"))

      const response = yield* llm.chat({ ...request, temperature: 0, json: true })

      // The fake reports usage {prompt_tokens: 1, completion_tokens: 1}: passed on for /metrics.
      expect(response).toEqual({ content: "{\"ok\":true}", model: "served-model", usage: { promptTokens: 1, completionTokens: 1 } })
      const [recorded] = yield* server.requests
      expect(recorded?.path).toBe("/chat/completions")
      expect(recorded?.headers["authorization"]).toBe("Bearer sk-secret")
      expect(recorded?.body).toEqual({
        model: "test-model",
        messages: request.messages,
        temperature: 0,
        response_format: { type: "json_object" }
      })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("sends no auth header without a key and no response_format unless json", () =>
    Effect.gen(function*() {
      const { llm, server } = yield* setup()
      yield* server.script(FakeReply.answer("plain"))

      expect((yield* llm.chat(request)).content).toBe("plain")
      const [recorded] = yield* server.requests
      expect(recorded?.headers["authorization"]).toBeUndefined()
      expect(recorded?.body).toEqual({ model: "test-model", messages: request.messages })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("retries a 500 and then succeeds", () =>
    Effect.gen(function*() {
      const { llm, server } = yield* setup()
      yield* server.script(FakeReply.status(500), FakeReply.status(503), FakeReply.answer("third time"))

      expect((yield* llm.chat(request)).content).toBe("third time")
      expect(yield* server.requests).toHaveLength(3)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("honours Retry-After on 429, capped by maxRetryDelay", () =>
    Effect.gen(function*() {
      // Retry-After says 5 s; the cap (400 ms) applies. The plain backoff would be ~5 ms.
      const { llm, server } = yield* setup()
      yield* server.script(FakeReply.rateLimited("5"), FakeReply.answer("after the wait"))

      const [response, ms] = yield* elapsedMs(llm.chat(request))

      expect(response.content).toBe("after the wait")
      expect(ms).toBeGreaterThanOrEqual(380)
      expect(ms).toBeLessThan(3000)
      const requests = yield* server.requests
      expect(requests).toHaveLength(2)
      expect(requests[1]!.receivedAtMs - requests[0]!.receivedAtMs).toBeGreaterThanOrEqual(380)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("honours a short Retry-After in seconds", () =>
    Effect.gen(function*() {
      const { llm, server } = yield* setup({}, { retryBaseDelay: "5 millis", maxRetryDelay: "5 seconds" })
      yield* server.script(FakeReply.rateLimited("0.3"), FakeReply.answer("ok"))

      const [, ms] = yield* elapsedMs(llm.chat(request))
      expect(ms).toBeGreaterThanOrEqual(280)
      expect(ms).toBeLessThan(3000)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("does not retry a 400", () =>
    Effect.gen(function*() {
      const { llm, server } = yield* setup()
      yield* server.script(FakeReply.status(400, "{\"error\":{\"message\":\"bad model\"}}"), FakeReply.answer("unused"))

      const error = yield* Effect.flip(llm.chat(request))

      expect(error._tag).toBe("LlmUnavailable")
      expect(error.status).toBe(400)
      expect(error.retryable).toBe(false)
      expect(error.reason).toContain("bad model")
      expect(yield* server.requests).toHaveLength(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("times out a hung call within the configured timeout", () =>
    Effect.gen(function*() {
      const { llm, server } = yield* setup({ timeout: Duration.millis(300), maxRetries: 0 })
      yield* server.script(FakeReply.hang)

      const [error, ms] = yield* elapsedMs(Effect.flip(llm.chat(request)))

      expect(error._tag).toBe("LlmUnavailable")
      expect(error.retryable).toBe(true)
      expect(error.reason).toContain("300 ms")
      expect(ms).toBeGreaterThanOrEqual(280)
      expect(ms).toBeLessThan(1500)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("retries after a timeout", () =>
    Effect.gen(function*() {
      const { llm, server } = yield* setup({ timeout: Duration.millis(300), maxRetries: 1 })
      yield* server.script(FakeReply.slow(2000, FakeReply.answer("too late")), FakeReply.answer("in time"))

      expect((yield* llm.chat(request)).content).toBe("in time")
      expect(yield* server.requests).toHaveLength(2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("retries a connection reset and a body cut mid-transfer", () =>
    Effect.gen(function*() {
      const { llm, server } = yield* setup()
      yield* server.script(FakeReply.reset, FakeReply.cutMidBody, FakeReply.answer("recovered"))

      expect((yield* llm.chat(request)).content).toBe("recovered")
      expect(yield* server.requests).toHaveLength(3)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("reports truncated JSON as LlmUnavailable without retrying", () =>
    Effect.gen(function*() {
      const { llm, server } = yield* setup()
      yield* server.script(FakeReply.truncatedJson, FakeReply.answer("unused"))

      const error = yield* Effect.flip(llm.chat(request))

      expect(error._tag).toBe("LlmUnavailable")
      expect(error.retryable).toBe(false)
      expect(error.reason).toContain("malformed completion")
      expect(yield* server.requests).toHaveLength(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("reports a completion without content as LlmUnavailable", () =>
    Effect.gen(function*() {
      const { llm, server } = yield* setup()
      yield* server.script(FakeReply.missingFields)

      const error = yield* Effect.flip(llm.chat(request))

      expect(error._tag).toBe("LlmUnavailable")
      expect(error.reason).toContain("choices[0].message.content")
      expect(error.reason).toContain("content")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("stops after maxRetries retries", () =>
    Effect.gen(function*() {
      const { llm, server } = yield* setup({ maxRetries: 2 })
      yield* server.setHandler(() => FakeReply.status(502))

      const error = yield* Effect.flip(llm.chat(request))

      expect(error.status).toBe(502)
      expect(error.retryable).toBe(true)
      expect(yield* server.requests).toHaveLength(3)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("holds at most maxConcurrency calls in flight", () =>
    Effect.gen(function*() {
      const { llm, server } = yield* setup({ maxConcurrency: 1 })
      yield* server.script(FakeReply.slow(200, FakeReply.answer("a")), FakeReply.slow(200, FakeReply.answer("b")))

      const answers = yield* Effect.all([llm.chat(request), llm.chat(request)], { concurrency: "unbounded" })

      expect(answers.map((a) => a.content).sort()).toEqual(["a", "b"])
      const [first, second] = yield* server.requests
      expect(second!.receivedAtMs - first!.receivedAtMs).toBeGreaterThanOrEqual(180)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("retry helpers", () => {
  it("classifies statuses", () => {
    expect([408, 409, 425, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true)
    expect([400, 401, 403, 404, 413, 422].some(isRetryableStatus)).toBe(false)
  })

  it("parses Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2024-05-01T10:00:00Z")
    expect(parseRetryAfter("7", now)).toEqual(Option.some(Duration.seconds(7)))
    expect(parseRetryAfter("Wed, 01 May 2024 10:00:30 GMT", now)).toEqual(Option.some(Duration.millis(30_000)))
    expect(parseRetryAfter("Wed, 01 May 2024 09:00:00 GMT", now)).toEqual(Option.some(Duration.millis(0)))
    expect(parseRetryAfter("soon", now)).toEqual(Option.none())
    expect(parseRetryAfter(undefined, now)).toEqual(Option.none())
  })
})

describe("OpenAiLlmClient.layerConfig", () => {
  it.scopedLive("reads ENGRAM_LLM_* settings", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeLlmServer()
      yield* server.script(FakeReply.answer("configured"))
      const config = ConfigProvider.fromMap(
        new Map([["ENGRAM.LLM_BASE_URL", `${server.baseUrl}/`], ["ENGRAM.LLM_MODEL", "from-env"]])
      )
      const response = yield* Effect.flatMap(LlmClient, (llm) => llm.chat(request)).pipe(
        Effect.provide(OpenAiLlmClient.layerConfig(fast).pipe(Layer.provide(NodeHttpClient.layerUndici))),
        Effect.withConfigProvider(config)
      )
      expect(response.content).toBe("configured")
      expect((yield* server.requests)[0]?.body).toMatchObject({ model: "from-env" })
    }))

  it.effect("fails with a ConfigError when no model is configured", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.flatMap(LlmClient, (llm) => Effect.succeed(llm.model)).pipe(
          Effect.provide(OpenAiLlmClient.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
        )
      )
      expect(error._op).toBe("MissingData")
    }))
})

describe("FakeLlmServer", () => {
  it.scopedLive("serves scripted embeddings, strips /v1 and records every request", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeLlmServer()
      yield* server.scriptFor("/embeddings", FakeReply.embeddings([[1, 2]]), FakeReply.missingFields)
      const post = (path: string) =>
        Effect.promise(async () => {
          const response = await fetch(server.baseUrl + path, { method: "POST", body: "{\"input\":\"x\"}" })
          return { status: response.status, body: await response.text() }
        })

      const first = yield* post("/v1/embeddings")
      expect(first.status).toBe(200)
      expect(JSON.parse(first.body).data[0].embedding).toEqual([1, 2])
      expect(JSON.parse((yield* post("/embeddings")).body).data[0].embedding).toBeUndefined()
      expect((yield* post("/embeddings")).status).toBe(400)
      expect((yield* post("/other")).status).toBe(404)
      const requests = yield* server.requests
      expect(requests.map((r) => r.path)).toEqual(["/embeddings", "/embeddings", "/embeddings", "/other"])
      expect(requests[0]?.body).toEqual({ input: "x" })
    }))
})
