import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Database from "../../src/Storage/Database.js"
import { type FakeLlmServer, FakeReply, makeFakeLlmServer } from "../support/FakeLlmServer.js"
import { call } from "../support/HttpCall.js"
import { baseUrl } from "../support/HttpTestServer.js"
import { productionHttpLayer } from "../support/ProductionHttpServer.js"
import { ledgerViolations, readLedger } from "../support/LedgerAudit.js"
import { purposeOf, scriptedAnswer } from "../support/ScriptedModel.js"
import { seededRandom } from "../support/SeededRandom.js"

/**
 * The server as `engram serve` composes it, with the real OpenAI client talking HTTP to
 * FakeLlmServer, under every fault the fake can produce: answers stay bounded (a 503 envelope
 * when the model is down, never a hang), nothing accepted is lost, transient faults are retried
 * with backoff, memory is extracted once the model recovers, and dead letters appear only after
 * the retry budget and can be re-queued.
 */

const TS = 1_700_000_000_000
const LLM_MAX_RETRIES = 2

const cooperative = (request: { body: unknown }) => FakeReply.answer(scriptedAnswer(request.body))

const serve = (llm: FakeLlmServer, env: Record<string, string> = {}, file?: string) =>
  Effect.gen(function*() {
    const database = file === undefined ? Database.layerMemory : Database.layerFile(file)
    const context = yield* Layer.build(productionHttpLayer({
      ENGRAM_LLM_BASE_URL: llm.baseUrl,
      ENGRAM_LLM_MODEL: "fake-model",
      ENGRAM_LLM_TIMEOUT: "300 millis",
      ENGRAM_LLM_MAX_RETRIES: String(LLM_MAX_RETRIES),
      ENGRAM_EXTRACTION_BACKOFF_BASE: "50 millis",
      ENGRAM_EXTRACTION_POLL_INTERVAL: "100 millis",
      // Not about embeddings (the local model has its own tests): no embedding jobs among the counted ones.
      ENGRAM_EMBEDDER: "off",
      ...env
    }, database)).pipe(Effect.orDie)
    return yield* Effect.provide(baseUrl, context)
  })

const messages = (session: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    message_id: `${session}-${i}`,
    sender_id: i % 2 === 0 ? "alice" : "assistant",
    role: i % 2 === 0 ? "user" : "assistant",
    timestamp: TS + i * 60_000,
    content: i % 2 === 0 ? `I am repainting the hallway this weekend (${i}).` : `Good luck with the hallway (${i}).`
  }))

const add = (url: string, session_id: string, count = 2) =>
  call(`${url}/api/v2/memory/add`, { json: { session_id, messages: messages(session_id, count) } }).pipe(Effect.orDie)

const flushAndWait = (url: string, session_id: string) =>
  call(`${url}/api/v2/memory/flush`, { json: { session_id, wait: true, wait_timeout_ms: 20_000 }, timeout: "30 seconds" }).pipe(
    Effect.orDie
  )

/** Where each id of the session is: buffered, or in a memcell (with repeats, so duplicates show). */
const locate = (url: string, session_id: string) =>
  Effect.map(call(`${url}/api/v2/memory/sessions/${session_id}`).pipe(Effect.orDie), (reply) => ({
    buffered: reply.body.data.buffered.map((m: { message_id: string }) => m.message_id) as Array<string>,
    inCells: reply.body.data.memcells.flatMap((c: { message_ids: Array<string> }) => c.message_ids) as Array<string>
  }))

const expectUnavailable = (reply: { status: number; body: any }) => {
  expect(reply.status).toBe(503)
  expect(reply.body).toMatchObject({ request_id: expect.any(String), error: { code: "EXTERNAL_SERVICE_UNAVAILABLE" } })
}

const episodesOf = (url: string, user_id: string) =>
  Effect.map(
    call(`${url}/api/v2/memory/get`, { json: { user_id, memory_type: "episode" } }).pipe(Effect.orDie),
    (reply) => reply.body.data
  )

describe("LLM faults through the real client", () => {
  it.scopedLive("each fault mode on the boundary call: transient ones are retried, the others are a 503; nothing is lost", () =>
    Effect.gen(function*() {
      const llm = yield* makeFakeLlmServer({ handler: cooperative })
      // The selective strategy asking about every new message: every add makes the boundary call.
      const url = yield* serve(llm, { ENGRAM_BOUNDARY_ASK_TOKENS: "1" })
      const modes: ReadonlyArray<readonly [string, FakeReply, 200 | 503]> = [
        ["status-500", FakeReply.status(500), 200],
        ["status-502", FakeReply.status(502), 200],
        ["rate-limited", FakeReply.rateLimited("0"), 200],
        ["hang", FakeReply.hang, 200],
        ["reset", FakeReply.reset, 200],
        ["cut-mid-body", FakeReply.cutMidBody, 200],
        ["slow", FakeReply.slow(100, FakeReply.answer(JSON.stringify({ boundaries: [] }))), 200],
        // A complete 2xx that is not a completion is not transient: retrying would ask again for the same.
        ["truncated-json", FakeReply.truncatedJson, 503],
        ["missing-fields", FakeReply.missingFields, 503],
        ["status-400", FakeReply.status(400), 503]
      ]
      for (const [session, fault, expected] of modes) {
        yield* llm.script(fault)
        const reply = yield* add(url, session)
        expect([session, reply.status]).toEqual([session, expected])
        if (expected === 503) expectUnavailable(reply)
        // Stored either way: the ledger write precedes the model call.
        expect((yield* locate(url, session)).buffered).toEqual([`${session}-0`, `${session}-1`])

        const flushed = yield* flushAndWait(url, session)
        expect(flushed.status).toBe(200)
        expect(flushed.body.data).toEqual({ status: "extracted", extraction_complete: true })
        const where = yield* locate(url, session)
        expect(where).toEqual({ buffered: [], inCells: [`${session}-0`, `${session}-1`] })
      }
      const episodes = yield* episodesOf(url, "alice")
      expect(episodes.total_count).toBe(modes.length)
    }), 60_000)

  it.scopedLive("a model that is down: adds and flushes are a bounded 503 after retries with backoff; recovery extracts", () =>
    Effect.gen(function*() {
      const llm = yield* makeFakeLlmServer({ handler: () => FakeReply.status(500) })
      const url = yield* serve(llm, { ENGRAM_BOUNDARY_ASK_TOKENS: "1" })

      const before = (yield* llm.requests).length
      const added = yield* add(url, "down", 4)
      expectUnavailable(added)
      const attempts = (yield* llm.requests).slice(before)
      expect(attempts.map((r) => purposeOf(r.body))).toEqual(Array(1 + LLM_MAX_RETRIES).fill("boundary"))
      // Equal-jitter exponential backoff from 500 ms: at least 250 ms, then at least 500 ms.
      const gaps = attempts.slice(1).map((r, i) => r.receivedAtMs - attempts[i]!.receivedAtMs)
      expect(gaps[0]).toBeGreaterThanOrEqual(240)
      expect(gaps[1]).toBeGreaterThanOrEqual(490)

      expectUnavailable(yield* call(`${url}/api/v2/memory/flush`, { json: { session_id: "down" } }).pipe(Effect.orDie))
      expect((yield* locate(url, "down")).buffered).toEqual(["down-0", "down-1", "down-2", "down-3"])

      // A model that never answers at all is the same bounded 503 (each attempt times out), never a hang.
      yield* llm.setHandler(() => FakeReply.hang)
      expectUnavailable(yield* add(url, "down", 4))
      expectUnavailable(yield* call(`${url}/api/v2/memory/flush`, { json: { session_id: "down" } }).pipe(Effect.orDie))

      // The model comes back: the client's retry of the same add is a no-op plus a new attempt.
      yield* llm.setHandler(cooperative)
      const retried = yield* add(url, "down", 4)
      expect(retried.status).toBe(200)
      expect(retried.body.data).toEqual({ message_count: 0, status: "extracted" })
      expect((yield* flushAndWait(url, "down")).body.data.extraction_complete).toBe(true)
      expect((yield* locate(url, "down")).inCells.sort()).toEqual(["down-0", "down-1", "down-2", "down-3"])
      const episodes = yield* episodesOf(url, "alice")
      expect(JSON.stringify(episodes)).toContain("A conversation")
    }), 60_000)

  // One job per kind (three per memcell, the episode call made per user), or one combined job per memcell.
  for (const [calls, jobsPerCell, purpose] of [["per_kind", 3, "episode"], ["combined", 1, "extraction"]] as const) {
  it.scopedLive(`extraction failing (${calls}): dead letters only after the attempt budget, re-queued by POST /jobs/retry`, () =>
    Effect.gen(function*() {
      const MAX_ATTEMPTS = 2
      let extractionDown = true
      const llm = yield* makeFakeLlmServer({
        handler: (request) =>
          extractionDown && purposeOf(request.body) !== "boundary" ? FakeReply.status(503) : cooperative(request)
      })
      const url = yield* serve(llm, { ENGRAM_EXTRACTION_MAX_ATTEMPTS: String(MAX_ATTEMPTS), ENGRAM_EXTRACTION_CALLS: calls })

      // Three messages: no cut on add, one memcell (with a user sender, so every kind calls the model) on flush.
      expect((yield* add(url, "dead", 3)).status).toBe(200)
      const flushed = yield* call(`${url}/api/v2/memory/flush`, { json: { session_id: "dead" } }).pipe(Effect.orDie)
      expect(flushed.body.data.status).toBe("extracted")

      const cells = (yield* call(`${url}/api/v2/memory/sessions/dead`).pipe(Effect.orDie)).body.data.memcells.length
      expect(cells).toBe(1)
      const dead = yield* call(`${url}/api/v2/jobs`).pipe(
        Effect.map((reply) => reply.body.data.jobs as ReadonlyArray<{ job_id: string; attempts: number; kind: string }>),
        Effect.filterOrFail((jobs) => jobs.length === cells * jobsPerCell),
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("30 seconds"))),
        Effect.orDie
      )
      expect(dead.map((job) => job.attempts)).toEqual(dead.map(() => MAX_ATTEMPTS))
      // Each attempt was a client call with its own retries: the budget is attempts x (1 + retries).
      const episodeCalls = (yield* llm.requests).filter((r) => purposeOf(r.body) === purpose).length
      expect(episodeCalls).toBe(cells * MAX_ATTEMPTS * (1 + LLM_MAX_RETRIES))

      extractionDown = false
      const retry = yield* call(`${url}/api/v2/jobs/retry`, { json: {} }).pipe(Effect.orDie)
      expect(retry.body.data).toEqual({ retried: cells * jobsPerCell })
      expect((yield* flushAndWait(url, "dead")).body.data.extraction_complete).toBe(true)
      expect((yield* call(`${url}/api/v2/jobs`).pipe(Effect.orDie)).body.data.jobs).toEqual([])
      expect(JSON.stringify(yield* episodesOf(url, "alice"))).toContain("A conversation")
    }), 60_000)
  }

  it.scopedLive("seeded chaos on every model call: clients retrying 503s lose nothing, and extraction happens once per memcell", () =>
    Effect.gen(function*() {
      const random = seededRandom(66)
      const faults: ReadonlyArray<FakeReply> = [
        FakeReply.status(500),
        FakeReply.rateLimited("0"),
        FakeReply.hang,
        FakeReply.reset,
        FakeReply.cutMidBody,
        FakeReply.truncatedJson,
        FakeReply.missingFields,
        FakeReply.answer("not json at all")
      ]
      // The first 150 calls fail half the time, in every way the fake knows; then the model heals.
      const llm = yield* makeFakeLlmServer({
        handler: (request, index) =>
          index < 150 && random() < 0.5 ? faults[Math.floor(random() * faults.length)]! : cooperative(request)
      })
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-chaos-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const file = Path.join(dir, "engram.db")
      // The selective strategy asking about every new message and per-kind extraction: as many model
      // calls as EverOS's way makes, so the 150-call faulty phase ends and the model is seen to heal.
      const url = yield* serve(llm, {
        ENGRAM_LLM_MAX_RETRIES: "1",
        ENGRAM_EXTRACTION_MAX_ATTEMPTS: "8",
        ENGRAM_BOUNDARY_ASK_TOKENS: "1",
        ENGRAM_EXTRACTION_CALLS: "per_kind"
      }, file)

      /** An agent's contract: retry a 503 (same request, so a no-op plus a new attempt), boundedly. */
      let unavailable = 0
      const untilAnswered = (path: string, json: unknown) =>
        call(`${url}${path}`, { json, timeout: "20 seconds" }).pipe(
          Effect.orDie,
          Effect.tap((reply) => Effect.sync(() => reply.status === 503 && unavailable++)),
          Effect.filterOrFail((reply) => reply.status !== 503),
          Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(30)))),
          Effect.orDie
        )
      const sessions = ["chaos-a", "chaos-b", "chaos-c", "chaos-d"]
      yield* Effect.forEach(sessions, (session_id, s) =>
        Effect.forEach(Array.from({ length: 6 }, (_, b) => b), (b) => {
          const batch = messages(`${session_id}-${b}`, 3).map((m, i) => ({
            ...m,
            sender_id: m.role === "user" ? `user-${s}` : "assistant",
            timestamp: TS + (b * 3 + i) * 60_000
          }))
          return Effect.map(untilAnswered("/api/v2/memory/add", { session_id, messages: batch }), (reply) =>
            expect(reply.status).toBe(200))
        }, { discard: true }), { concurrency: "unbounded", discard: true })

      for (const session_id of sessions) {
        const flushed = yield* untilAnswered("/api/v2/memory/flush", { session_id, wait: true, wait_timeout_ms: 30_000 })
        expect(flushed.body.data.extraction_complete).toBe(true)
        const where = yield* locate(url, session_id)
        expect(where.buffered).toEqual([])
        expect(where.inCells.length).toBe(18)
        expect(new Set(where.inCells).size).toBe(18)
      }
      expect((yield* call(`${url}/api/v2/jobs`).pipe(Effect.orDie)).body.data.jobs).toEqual([])
      const ledger = yield* readLedger(file)
      expect(ledgerViolations(ledger, { extracted: true })).toEqual([])
      expect(ledger.messages.length).toBe(sessions.length * 18)
      // The chaos was real: some answers were 503s, and the model healed only after its faulty phase.
      expect(unavailable).toBeGreaterThan(0)
      expect((yield* llm.requests).length).toBeGreaterThan(150)
    }), 120_000)
})
