import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { httpServerLayer } from "../../src/Http/Server.js"
import { extractionTestLayer } from "../support/ExtractionTestLayer.js"
import { baseUrl, type Reply, request } from "../support/HttpTestServer.js"
import { boundaryAnswer, configLayer } from "../support/MemoryTestLayer.js"

const MONDAY = Date.UTC(2024, 4, 6, 18, 0)
const env = { ENGRAM_EXTRACTION_POLL_INTERVAL: "50 millis" }

/** The real HTTP stack with extraction workers over the local extractors (the model never cuts). */
const serverLayer = httpServerLayer({ host: "127.0.0.1", port: 0, maxBodyBytes: 1024 * 1024, shutdownTimeout: Duration.seconds(2) }).pipe(
  Layer.provideMerge(extractionTestLayer({ llm: () => boundaryAnswer([]), env })),
  Layer.provide(configLayer(env))
)

const say = (id: string, sender: string, minute: number, content: string, role = "user") => ({
  message_id: id,
  sender_id: sender,
  role,
  timestamp: MONDAY + minute * 60_000,
  content
})

const expectError = (reply: Reply, status: number, code: string, messagePart?: string) => {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status, code })
  if (messagePart !== undefined) expect(reply.body.error.message).toContain(messagePart)
}

/** Stores a conversation of `user` and flushes it, waiting for extraction. */
const remember = (url: string, user: string, session_id: string) =>
  Effect.gen(function*() {
    const added = yield* request(`${url}/api/v2/memory/add`, {
      body: {
        session_id,
        messages: [
          say(`${session_id}-1`, user, 0, "I live in Lisbon and I work as a nurse."),
          say(`${session_id}-2`, "assistant", 1, "That sounds rewarding.", "assistant"),
          say(`${session_id}-3`, user, 2, "Next Friday I am flying to Porto to see my sister.")
        ]
      }
    })
    expect(added.status).toBe(200)
    return yield* request(`${url}/api/v2/memory/flush`, { body: { session_id, wait: true, wait_timeout_ms: 20_000 } })
  })

layer(serverLayer, { excludeTestServices: true, timeout: "60 seconds" })("HTTP read API", (it) => {
  describe("get", () => {
    it.effect("reads back what a waited flush extracted: episodes with facts, facts, foresight (v1 alias too)", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const flushed = yield* remember(url, "alice", "h1")
        expect(flushed.status).toBe(200)
        expect(flushed.body.data).toEqual({ status: "extracted", extraction_complete: true })

        const got = yield* request(`${url}/api/v2/memory/get`, { body: { user_id: "alice" } })
        expect(got.status).toBe(200)
        expect(got.body.request_id).toBe(got.headers.get("x-request-id"))
        const data = got.body.data
        expect(Object.keys(data).sort()).toEqual(
          ["agent_cases", "agent_skills", "atomic_facts", "count", "episodes", "foresight", "page", "page_size", "profiles", "total_count"]
        )
        expect(data).toMatchObject({ total_count: 1, count: 1, page: 1, page_size: 20, atomic_facts: [], foresight: [], profiles: [] })
        const [episode] = data.episodes
        expect(episode).toMatchObject({
          user_id: "alice",
          app_id: "default",
          project_id: "default",
          session_id: "h1",
          type: "episode",
          sender_ids: ["alice", "assistant"],
          message_ids: ["h1-1", "h1-2", "h1-3"],
          timestamp: MONDAY + 2 * 60_000
        })
        expect(episode.episode).toContain("Lisbon")
        expect(episode.subject.length).toBeGreaterThan(0)
        expect(episode.atomic_facts.length).toBeGreaterThan(0)
        for (const fact of episode.atomic_facts) expect(fact.message_ids.length).toBeGreaterThan(0)

        const alias = yield* request(`${url}/api/v1/memory/get`, { body: { user_id: "alice" } })
        expect(alias.body.data).toEqual(data)

        const facts = yield* request(`${url}/api/v2/memory/get`, { body: { user_id: "alice", memory_type: "atomic_fact" } })
        expect(facts.body.data.episodes).toEqual([])
        expect(facts.body.data.atomic_facts.map((f: { id: string }) => f.id).sort()).toEqual(
          episode.atomic_facts.map((f: { id: string }) => f.id).sort()
        )
        expect(facts.body.data.atomic_facts[0]).toMatchObject({ episode_id: episode.id, memcell_id: episode.memcell_id, session_id: "h1" })

        const friday = Date.UTC(2024, 4, 10, 12)
        const plans = yield* request(`${url}/api/v2/memory/get`, {
          body: { user_id: "alice", memory_type: "foresight", valid_at: new Date(friday).toISOString() }
        })
        expect(plans.body.data.foresight.length).toBe(1)
        expect(plans.body.data.foresight[0]).toMatchObject({ user_id: "alice", session_id: "h1", message_ids: ["h1-3"] })
        expect(plans.body.data.foresight[0].start_time).toBeLessThanOrEqual(friday)
        const before = yield* request(`${url}/api/v2/memory/get`, {
          body: { user_id: "alice", memory_type: "foresight", valid_at: MONDAY }
        })
        expect(before.body.data.foresight).toEqual([])

        const filtered = yield* request(`${url}/api/v2/memory/get`, {
          body: { user_id: "alice", filters: { OR: [{ session_id: "nope" }, { timestamp: { gte: "2024-05-07T00:00:00Z" } }] } }
        })
        expect(filtered.body.data).toMatchObject({ episodes: [], total_count: 0 })
      }))

    it.effect("refuses malformed requests with 422 and agent memory asked by user_id with 503", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const get = (body: unknown) => request(`${url}/api/v2/memory/get`, { body })
        expectError(yield* get({}), 422, "INVALID_INPUT", "user_id")
        expectError(yield* get({ user_id: "alice", agent_id: "bot" }), 422, "INVALID_INPUT", "agent_id")
        expectError(yield* get({ user_id: "alice", colour: "blue" }), 422, "INVALID_INPUT", "colour")
        expectError(yield* get({ user_id: "alice", page_size: 0 }), 422, "INVALID_INPUT", "page_size")
        expectError(yield* get({ user_id: "alice", filters: { timestamp: "yesterday" } }), 422, "INVALID_INPUT", "filters.timestamp")
        expectError(yield* get({ user_id: "alice", valid_at: MONDAY }), 422, "INVALID_INPUT", "valid_at")
        expectError(yield* get({ agent_id: "bot" }), 503, "CAPABILITY_UNAVAILABLE", "agent memory")
        expectError(yield* get({ user_id: "alice", memory_type: "agent_case" }), 503, "CAPABILITY_UNAVAILABLE", "agent_id")
      }))
  })

  describe("flush", () => {
    it.effect("without wait answers as soon as memcells are committed; the wait options are validated", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        yield* request(`${url}/api/v2/memory/add`, { body: { session_id: "nowait", messages: [say("nw-1", "erin", 0, "Hello there.")] } })
        const flushed = yield* request(`${url}/api/v2/memory/flush`, { body: { session_id: "nowait" } })
        expect(flushed.body.data).toEqual({ status: "extracted" })
        const flush = (body: unknown) => request(`${url}/api/v2/memory/flush`, { body })
        expectError(yield* flush({ session_id: "nowait", wait_timeout_ms: 100 }), 422, "INVALID_INPUT", "wait_timeout_ms")
        expectError(yield* flush({ session_id: "nowait", wait: true, wait_timeout_ms: 0 }), 422, "INVALID_INPUT", "wait_timeout_ms")
        expectError(yield* flush({ session_id: "nowait", wait: "yes" }), 422, "INVALID_INPUT", "wait")
        const nothing = yield* flush({ session_id: "nowait", wait: true })
        expect(nothing.body.data).toEqual({ status: "no_extraction", extraction_complete: true })
      }))
  })

  describe("delete", () => {
    it.effect("removes a session's messages, memcells and derived memory and reports counts", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        expect((yield* remember(url, "dave", "d1")).body.data.extraction_complete).toBe(true)
        yield* request(`${url}/api/v2/memory/add`, { body: { session_id: "d1", messages: [say("d1-4", "dave", 9, "One more thing.")] } })

        const deleted = yield* request(`${url}/api/v2/memory/delete`, { body: { session_id: "d1" } })
        expect(deleted.status).toBe(200)
        expect(deleted.body.data).toMatchObject({ messages: 4, memcells: 1, episodes: 1, jobs: 3 })
        expect(deleted.body.data.atomic_facts).toBeGreaterThan(0)
        expect(deleted.body.data.foresight).toBeGreaterThan(0)

        const session = yield* request(`${url}/api/v2/memory/sessions/d1`)
        expect(session.body.data).toMatchObject({ buffered: [], memcells: [] })
        for (const memory_type of ["episode", "atomic_fact", "foresight"]) {
          const got = yield* request(`${url}/api/v1/memory/get`, { body: { user_id: "dave", memory_type } })
          expect({ memory_type, total: got.body.data.total_count }).toEqual({ memory_type, total: 0 })
        }
        // Another user's memory is still there.
        const alice = yield* request(`${url}/api/v2/memory/get`, { body: { user_id: "alice" } })
        expect(alice.body.data.total_count).toBe(1)
      }))

    it.effect("refuses a request without a criterion or with unknown keys", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const del = (body: unknown) => request(`${url}/api/v2/memory/delete`, { body })
        expectError(yield* del({}), 422, "INVALID_INPUT", "one of user_id, session_id or memcell_ids")
        expectError(yield* del({ app_id: "default" }), 422, "INVALID_INPUT")
        expectError(yield* del({ session_id: "x", all: true }), 422, "INVALID_INPUT", "all")
        expectError(yield* del({ memcell_ids: [] }), 422, "INVALID_INPUT", "memcell_ids")
        const get = yield* request(`${url}/api/v2/memory/delete`)
        expectError(get, 405, "METHOD_NOT_ALLOWED")
      }))
  })
})
