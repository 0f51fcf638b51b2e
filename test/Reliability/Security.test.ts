import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Option, Redacted } from "effect"
import { MemorizeSettingsConfig, ServerSettingsConfig } from "../../src/Config/EngramConfig.js"
import * as fc from "fast-check"
import { makeBearerAuth } from "../../src/Http/Auth.js"
import { configuredHttpLayer } from "../support/ConfiguredHttpServer.js"
import { baseUrl, type Reply, request } from "../support/HttpTestServer.js"
import { boundaryAnswer } from "../support/MemoryTestLayer.js"
import { rawExchange } from "../support/RawSocket.js"

const API_KEY = "test-key-7f3a9c1e5b"
const ALLOWED_ORIGIN = "https://app.example.com"
const TS = 1_700_000_000_000

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

const addBody = (session_id: string, id: string) => ({
  session_id,
  messages: [{ message_id: id, sender_id: "alice", role: "user", timestamp: TS, content: `hello ${id}` }]
})

const expectEnvelope = (reply: { status: number; body: any }, status: number, code: string) => {
  expect(reply.status).toBe(status)
  expect(reply.body).toMatchObject({ request_id: expect.any(String), error: { code, message: expect.any(String) } })
  expect(Object.keys(reply.body).sort()).toEqual(["error", "request_id"])
}

const portOf = (url: string) => Number(new URL(url).port)

const sessionIds = (reply: Reply): ReadonlyArray<string> => [
  ...reply.body.data.buffered.map((m: { message_id: string }) => m.message_id),
  ...reply.body.data.memcells.flatMap((c: { message_ids: ReadonlyArray<string> }) => c.message_ids)
]

const secured = configuredHttpLayer(
  { apiKey: Option.some(Redacted.make(API_KEY)), corsOrigins: [ALLOWED_ORIGIN], requestTimeout: Duration.seconds(1) },
  { llm: () => boundaryAnswer([]) }
)

layer(secured, { excludeTestServices: true, timeout: "60 seconds" })("with ENGRAM_API_KEY, CORS and a 1 s read timeout", (it) => {
  describe("bearer-token auth", () => {
    it.effect("/health and the API description stay open; everything else needs the token", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        expect((yield* request(`${url}/health`)).status).toBe(200)
        expect((yield* request(`${url}/openapi.json`)).status).toBe(200)
        for (const path of ["/metrics", "/api/v2/memory/sessions/s", "/api/v1/memory/sessions/s", "/api/v2/no-such-route"]) {
          const reply = yield* request(`${url}${path}`)
          expectEnvelope(reply, 401, "UNAUTHORIZED")
          expect(reply.headers.get("www-authenticate")).toBe("Bearer realm=\"engram\"")
        }
        expect((yield* request(`${url}/metrics`, { headers: bearer(API_KEY) })).status).toBe(200)
      }))

    it.effect("a missing, wrong or malformed token stores nothing; the right one (any scheme case) works", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const attempts: ReadonlyArray<Record<string, string>> = [
          {},
          bearer("wrong"),
          bearer(`${API_KEY}x`),
          bearer(API_KEY.slice(0, -1)),
          { authorization: API_KEY },
          { authorization: `Basic ${Buffer.from(`user:${API_KEY}`).toString("base64")}` },
          { authorization: `Bearer ${API_KEY} extra` },
          { authorization: "Bearer" }
        ]
        for (const [i, headers] of attempts.entries()) {
          const reply = yield* request(`${url}/api/v2/memory/add`, { body: addBody("auth", `denied-${i}`), headers })
          expectEnvelope(reply, 401, "UNAUTHORIZED")
          // The message names the problem but never echoes a token.
          expect(reply.text).not.toContain(API_KEY)
          expect(reply.text).not.toContain("wrong")
        }
        const accepted = yield* request(`${url}/api/v2/memory/add`, {
          body: addBody("auth", "allowed"),
          headers: { authorization: `bearer ${API_KEY}` }
        })
        expect(accepted.status).toBe(200)
        const session = yield* request(`${url}/api/v2/memory/sessions/auth`, { headers: bearer(API_KEY) })
        expect(sessionIds(session)).toEqual(["allowed"])
      }))

    it.effect("no random token authorizes (property)", () =>
      Effect.sync(() => {
        const authorize = makeBearerAuth(Option.some(Redacted.make(API_KEY)))
        fc.assert(
          fc.property(fc.string({ maxLength: 80 }), (token) => {
            const header = `Bearer ${token}`
            const result = Effect.runSync(Effect.either(authorize("/api/v2/memory/add", header)))
            return result._tag === "Left" || token.trim() === API_KEY
          }),
          { seed: 6, numRuns: 500 }
        )
      }))
  })

  describe("CORS", () => {
    it.effect("a preflight from an allowed origin is answered before auth; others get no CORS headers", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const preflight = (origin: string) =>
          request(`${url}/api/v2/memory/add`, {
            method: "OPTIONS",
            headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" }
          })
        const allowed = yield* preflight(ALLOWED_ORIGIN)
        expect(allowed.status).toBe(204)
        expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN)
        expect(allowed.headers.get("access-control-allow-headers")).toContain("authorization")
        expect(allowed.headers.get("access-control-allow-methods")).toContain("POST")
        const other = yield* preflight("https://evil.example.net")
        expect(other.status).toBe(204)
        expect(other.headers.get("access-control-allow-origin")).toBeNull()
      }))

    it.effect("answers to an allowed origin carry the CORS headers, error envelopes included", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const ok = yield* request(`${url}/api/v2/memory/sessions/cors`, { headers: { origin: ALLOWED_ORIGIN, ...bearer(API_KEY) } })
        expect(ok.status).toBe(200)
        expect(ok.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN)
        expect(ok.headers.get("access-control-expose-headers")).toContain("x-request-id")
        const denied = yield* request(`${url}/api/v2/memory/sessions/cors`, { headers: { origin: ALLOWED_ORIGIN } })
        expectEnvelope(denied, 401, "UNAUTHORIZED")
        expect(denied.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN)
        const foreign = yield* request(`${url}/api/v2/memory/sessions/cors`, { headers: { origin: "https://evil.example.net", ...bearer(API_KEY) } })
        expect(foreign.headers.get("access-control-allow-origin")).toBeNull()
      }))
  })

  describe("slow and malformed clients", () => {
    it.effect("a body that trickles in (slowloris) is cut with a 408 envelope; the server keeps serving", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const head = [
          "POST /api/v2/memory/add HTTP/1.1",
          "host: 127.0.0.1",
          "content-type: application/json",
          `authorization: Bearer ${API_KEY}`,
          "content-length: 100000",
          "",
          "{\"session_id\":\"slow\",\"messages\":["
        ].join("\r\n")
        const answer = yield* rawExchange(portOf(url), [head], { dripEvery: "100 millis" })
        expect(answer.status).toBe(408)
        expectEnvelope(answer, 408, "REQUEST_TIMEOUT")
        const session = yield* request(`${url}/api/v2/memory/sessions/slow`, { headers: bearer(API_KEY) })
        expect(sessionIds(session)).toEqual([])
        expect((yield* request(`${url}/health`)).status).toBe(200)
      }))

    it.effect("headers that never finish are cut too", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const answer = yield* rawExchange(portOf(url), ["GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: "], {
          dripEvery: "100 millis"
        })
        expectEnvelope(answer, 408, "REQUEST_TIMEOUT")
      }))

    it.effect("malformed HTTP gets a 400 envelope instead of a bare status line", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const answer = yield* rawExchange(portOf(url), ["NOT HTTP AT ALL\r\n\r\n"])
        expectEnvelope(answer, 400, "BAD_REQUEST")
        const badLength = yield* rawExchange(portOf(url), ["POST /api/v2/memory/add HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n"])
        expectEnvelope(badLength, 400, "BAD_REQUEST")
      }))
  })
})

layer(configuredHttpLayer({}, { llm: () => boundaryAnswer([]) }), { excludeTestServices: true, timeout: "60 seconds" })("defaults", (it) => {
  it.effect("without ENGRAM_API_KEY no token is needed and without ENGRAM_CORS_ORIGINS no CORS header is sent", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const reply = yield* request(`${url}/api/v2/memory/add`, { body: addBody("open", "o1"), headers: { origin: ALLOWED_ORIGIN } })
      expect(reply.status).toBe(200)
      expect(reply.headers.get("access-control-allow-origin")).toBeNull()
      const preflight = yield* request(`${url}/api/v2/memory/add`, {
        method: "OPTIONS",
        headers: { origin: ALLOWED_ORIGIN, "access-control-request-method": "POST" }
      })
      expect(preflight.headers.get("access-control-allow-origin")).toBeNull()
    }))
})

describe("configuration", () => {
  const read = (env: Record<string, string>) =>
    Effect.either(Effect.withConfigProvider(ServerSettingsConfig, ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_" })))

  it.effect("defaults: no key, no CORS origins, a 30 s read timeout", () =>
    Effect.gen(function*() {
      const settings = yield* Effect.flatMap(read({}), Either.match({ onLeft: Effect.die, onRight: Effect.succeed }))
      expect(Option.isNone(settings.apiKey ?? Option.none())).toBe(true)
      expect(settings.corsOrigins).toEqual([])
      expect(Duration.toMillis(settings.requestTimeout!)).toBe(30_000)
    }))

  it.effect("ENGRAM_API_KEY stays redacted; ENGRAM_CORS_ORIGINS is a trimmed list; malformed values are refused by name", () =>
    Effect.gen(function*() {
      const settings = yield* Effect.flatMap(
        read({ ENGRAM_API_KEY: "k-123", ENGRAM_CORS_ORIGINS: " https://a.example.com ,http://localhost:3000,", ENGRAM_REQUEST_TIMEOUT: "5 seconds" }),
        Either.match({ onLeft: Effect.die, onRight: Effect.succeed })
      )
      expect(String(settings.apiKey)).not.toContain("k-123")
      expect(Option.map(settings.apiKey!, Redacted.value)).toEqual(Option.some("k-123"))
      expect(settings.corsOrigins).toEqual(["https://a.example.com", "http://localhost:3000"])
      for (const [name, value] of [["ENGRAM_API_KEY", ""], ["ENGRAM_API_KEY", "has space"], ["ENGRAM_CORS_ORIGINS", "https://a.example.com/path"], ["ENGRAM_CORS_ORIGINS", "a.example.com"], ["ENGRAM_REQUEST_TIMEOUT", "soon"], ["ENGRAM_MAX_BODY_BYTES", "0"]] as const) {
        const result = yield* read({ [name]: value })
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) expect(String(result.left)).toContain(name.slice("ENGRAM_".length))
      }
      // The same holds for validated settings elsewhere (it once said only "Invalid data at ENGRAM").
      const zone = yield* Effect.either(
        Effect.withConfigProvider(MemorizeSettingsConfig, ConfigProvider.fromMap(new Map([["ENGRAM_TIME_ZONE", "Mars/Base"]]), { pathDelim: "_" }))
      )
      expect(Either.isLeft(zone) && String(zone.left)).toContain("TIME_ZONE")
    }))
})
