import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { boundaryAnswer } from "../support/MemoryTestLayer.js"
import { baseUrl, type Reply, request } from "../support/HttpTestServer.js"
import { httpTestLayer } from "../support/HttpTestServer.js"

const TS = 1_700_000_000_000

const message = (id: string, i: number, extra: Record<string, unknown> = {}) => ({
  message_id: id,
  sender_id: "alice",
  role: "user",
  timestamp: TS + i * 1000,
  content: `message ${id}`,
  ...extra
})

const expectEnvelope = (reply: Reply, status: number, code: string) => {
  expect(reply.status).toBe(status)
  expect(reply.body).toMatchObject({ error: { code } })
  expect(Object.keys(reply.body).sort()).toEqual(["error", "request_id"])
  expect(Object.keys(reply.body.error).sort()).toEqual(["code", "message", "path", "timestamp"])
  expect(reply.body.request_id).toBe(reply.headers.get("x-request-id"))
  expect(new Date(reply.body.error.timestamp).toISOString()).toBe(reply.body.error.timestamp)
}

const sessionIds = (reply: Reply): ReadonlyArray<string> => [
  ...reply.body.data.buffered.map((m: { message_id: string }) => m.message_id),
  ...reply.body.data.memcells.flatMap((c: { message_ids: ReadonlyArray<string> }) => c.message_ids)
]

/** A model that takes a moment and cuts after its second message when it can. */
const slowCutter = () => Effect.as(Effect.sleep("2 millis"), boundaryAnswer([2]))

// These tests pin the EverOS protocol over HTTP (a model call on every add); the default selective
// strategy is raced in MemoryRace.test.ts and tested in SelectiveBoundary.test.ts.
const EVERY_ADD = { ENGRAM_BOUNDARY_STRATEGY: "every_add" }

layer(httpTestLayer({ llm: slowCutter, maxBodyBytes: 64 * 1024, env: EVERY_ADD }), { excludeTestServices: true, timeout: "60 seconds" })("HTTP memory API", (it) => {
  describe("round trips", () => {
    it.effect("add, flush and the session view, with the success envelope", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const added = yield* request(`${url}/api/v2/memory/add`, {
          body: { session_id: "round", messages: [message("r1", 1), message("r2", 2), message("r3", 3)] }
        })
        expect(added.status).toBe(200)
        expect(added.body).toEqual({ request_id: added.headers.get("x-request-id"), data: { message_count: 3, status: "extracted" } })
        expect(added.body.request_id).toMatch(/^[0-9a-f]{32}$/)

        const flushed = yield* request(`${url}/api/v2/memory/flush`, { body: { session_id: "round" } })
        expect(flushed.body.data).toEqual({ status: "extracted" })
        const again = yield* request(`${url}/api/v2/memory/flush`, { body: { session_id: "round" } })
        expect(again.body.data).toEqual({ status: "no_extraction" })

        const session = yield* request(`${url}/api/v2/memory/sessions/round`)
        expect(session.status).toBe(200)
        expect(session.body.data).toMatchObject({ session_id: "round", app_id: "default", project_id: "default", buffered: [] })
        expect(session.body.data.memcells.map((c: { message_ids: unknown }) => c.message_ids)).toEqual([["r1", "r2"], ["r3"]])
        expect(Object.keys(session.body.data.memcells[0]).sort()).toEqual(["memcell_id", "message_ids", "sender_ids", "timestamp"])
      }))

    it.effect("/api/v1 is an identical alias and scopes are separate", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const added = yield* request(`${url}/api/v1/memory/add`, {
          body: { session_id: "alias", app_id: "shop", project_id: "eu", messages: [message("v1-a", 1)] }
        })
        expect(added.body.data).toEqual({ message_count: 1, status: "accumulated" })
        const inScope = yield* request(`${url}/api/v1/memory/sessions/alias?app_id=shop&project_id=eu`)
        expect(inScope.body.data.buffered.map((m: { message_id: string }) => m.message_id)).toEqual(["v1-a"])
        const otherScope = yield* request(`${url}/api/v2/memory/sessions/alias`)
        expect(otherScope.body.data.buffered).toEqual([])
      }))

    it.effect("a retried request is a no-op", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const body = { session_id: "retry", messages: [message("t1", 1), message("t2", 2), message("t3", 3)] }
        const first = yield* request(`${url}/api/v2/memory/add`, { body })
        const second = yield* request(`${url}/api/v2/memory/add`, { body })
        expect(first.body.data.message_count).toBe(3)
        expect(second.body.data.message_count).toBe(0)
        const session = yield* request(`${url}/api/v2/memory/sessions/retry`)
        expect([...sessionIds(session)].sort()).toEqual(["t1", "t2", "t3"])
      }))
  })

  it.effect("the original race through HTTP: 50 concurrent adds on one session plus 5 other sessions", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const sessions = ["race", "other-1", "other-2", "other-3", "other-4", "other-5"]
      const requests = [
        ...Array.from({ length: 50 }, (_, b) => ({
          session_id: "race",
          messages: [0, 1, 2].map((i) => message(`race-${b}-${i}`, b * 3 + i, { sender_id: `u${b % 4}` }))
        })),
        ...sessions.slice(1).flatMap((sid) =>
          Array.from({ length: 4 }, (_, b) => ({ session_id: sid, messages: [0, 1].map((i) => message(`${sid}-${b}-${i}`, b * 2 + i)) }))
        )
      ]
      const replies = yield* Effect.all(requests.map((body) => request(`${url}/api/v2/memory/add`, { body })), {
        concurrency: "unbounded"
      })
      expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200))
      for (const sid of sessions) {
        const ids = sessionIds(yield* request(`${url}/api/v2/memory/sessions/${sid}`))
        const expected = requests.filter((r) => r.session_id === sid).flatMap((r) => r.messages.map((m) => m.message_id))
        expect(ids.length).toBe(new Set(ids).size)
        expect([...ids].sort()).toEqual([...expected].sort())
      }
    }))

  describe("every error path answers with the envelope", () => {
    it.effect("schema failures are 422 INVALID_INPUT naming the first field", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const cases: Array<[unknown, string]> = [
          [{ messages: [message("x", 1)] }, "session_id"],
          [{ session_id: "s", messages: [] }, "messages"],
          [{ session_id: "s", messages: [message("x", 1, { timestamp: 1.5 })] }, "messages.0.timestamp"],
          [{ session_id: "s", messages: [message("x", 1, { sender_id: ".." })] }, "messages.0.sender_id"],
          [{ session_id: "s", messages: [message("x", 1, { role: "tool" })] }, "messages.0.tool_call_id"],
          [{ session_id: "s", app_id: "Upper", messages: [message("x", 1)] }, "app_id"],
          [{ session_id: "x".repeat(129), messages: [message("x", 1)] }, "session_id"],
          [{ session_id: "s", messages: [message("x", 1, { role: "system" })] }, "messages.0.role"]
        ]
        for (const [body, field] of cases) {
          const reply = yield* request(`${url}/api/v2/memory/add`, { body })
          expectEnvelope(reply, 422, "INVALID_INPUT")
          expect(reply.body.error.message.endsWith(`: ${field}`)).toBe(true)
          expect(reply.body.error.path).toBe("/api/v2/memory/add")
        }
        const tooMany = yield* request(`${url}/api/v2/memory/add`, {
          body: { session_id: "s", messages: Array.from({ length: 501 }, (_, i) => ({ sender_id: "a", role: "user", timestamp: i, content: "" })) }
        })
        expectEnvelope(tooMany, 422, "INVALID_INPUT")
      }))

    it.effect("invalid JSON is 400, unknown route 404, wrong method 405, oversized body 413", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        expectEnvelope(yield* request(`${url}/api/v2/memory/add`, { raw: "{\"session_id\":" }), 400, "BAD_REQUEST")
        expectEnvelope(yield* request(`${url}/api/v2/memory/nope`), 404, "NOT_FOUND")
        const wrongMethod = yield* request(`${url}/api/v2/memory/add`, { method: "GET" })
        expectEnvelope(wrongMethod, 405, "METHOD_NOT_ALLOWED")
        expect(wrongMethod.headers.get("allow")).toBe("POST")
        const huge = yield* request(`${url}/api/v2/memory/add`, {
          body: { session_id: "big", messages: [message("big", 1, { content: "x".repeat(100 * 1024) })] }
        })
        expectEnvelope(huge, 413, "PAYLOAD_TOO_LARGE")
      }))

    it.effect("a message id reused with other content is 409 CONFLICT and stores nothing", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        yield* request(`${url}/api/v2/memory/add`, { body: { session_id: "conflict", messages: [message("c1", 1)] } })
        const reply = yield* request(`${url}/api/v2/memory/add`, {
          body: { session_id: "conflict", messages: [message("c2", 2), message("c1", 1, { content: "changed" })] }
        })
        expectEnvelope(reply, 409, "CONFLICT")
        expect(reply.body.error.message).toContain("c1")
        const session = yield* request(`${url}/api/v2/memory/sessions/conflict`)
        expect(sessionIds(session)).toEqual(["c1"])
      }))

    it.effect("a well-formed incoming request id is continued; a malformed one replaced", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const kept = yield* request(`${url}/health`, { headers: { "x-request-id": "trace-1234-abcd" } })
        expect(kept.headers.get("x-request-id")).toBe("trace-1234-abcd")
        const replaced = yield* request(`${url}/health`, { headers: { "x-request-id": "bad id with spaces" } })
        expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f]{32}$/)
      }))
  })

  describe("operations", () => {
    it.effect("/health is 200 with capabilities; /metrics is Prometheus text; OpenAPI and docs are served", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const health = yield* request(`${url}/health`)
        expect(health.status).toBe(200)
        expect(health.body).toMatchObject({ status: "ok", capabilities: { llm: false, embed: false, boundary_detector: "llm" } })
        const metrics = yield* request(`${url}/metrics`)
        expect(metrics.status).toBe(200)
        expect(metrics.headers.get("content-type")).toContain("text/plain")
        expect(metrics.text).toContain("# TYPE engram_http_requests_total counter")
        expect(metrics.text).toMatch(/engram_buffered_messages \d+/)
        expect(metrics.text).toMatch(/engram_http_requests_total\{route="\/api\/v2\/memory\/add",status="200"\} \d+/)
        const openapi = yield* request(`${url}/openapi.json`)
        expect(Object.keys(openapi.body.paths)).toContain("/api/v2/memory/add")
        expect((yield* request(`${url}/docs`)).status).toBe(200)
      }))
  })
})

layer(
  httpTestLayer({ llm: () => Effect.as(Effect.sleep("5 seconds"), boundaryAnswer([])), env: { ...EVERY_ADD, ENGRAM_LOCK_TIMEOUT: "200 millis" } }),
  { excludeTestServices: true }
)("HTTP when the model is stuck", (it) => {
  it.effect("a lock timeout is 503 EXTERNAL_SERVICE_UNAVAILABLE and the messages stay stored", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const reply = yield* request(`${url}/api/v2/memory/add`, {
        body: { session_id: "stuck", messages: [message("k1", 1), message("k2", 2)] }
      })
      expectEnvelope(reply, 503, "EXTERNAL_SERVICE_UNAVAILABLE")
      const session = yield* request(`${url}/api/v2/memory/sessions/stuck`)
      expect(sessionIds(session)).toEqual(["k1", "k2"])
    }))
})
