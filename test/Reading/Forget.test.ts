import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Clock, Deferred, Effect, Either, Fiber, Layer, Queue, Schema } from "effect"
import { DeleteRequest } from "../../src/Domain/DeleteRequest.js"
import { type IncomingMessage, ScopeId } from "../../src/Domain/Message.js"
import { firstIssue } from "../../src/Domain/Validation.js"
import { EpisodeExtractor, FactExtractor, ForesightExtractor, userSenders } from "../../src/Extraction/Extractors.js"
import { JobRunner } from "../../src/Workers/JobRunner.js"
import { Forget } from "../../src/Reading/Forget.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { JobQueue } from "../../src/Jobs/JobQueue.js"
import { extractionTestLayer } from "../support/ExtractionTestLayer.js"
import { boundaryAnswer } from "../support/MemoryTestLayer.js"
import { forEachEngine } from "../support/Engines.js"

const MONDAY = Date.UTC(2024, 4, 6, 18, 0)
const TABLES = ["messages", "memcells", "extraction_jobs", "episodes", "atomic_facts", "foresight"] as const
type Table = typeof TABLES[number]

/** Every row of every table, counted per (app, session, memcell); "buffer" for unconsumed messages. */
const snapshot = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const result: Record<string, number> = {}
  for (const table of TABLES) {
    const rows = yield* sql.unsafe<{ app_id: string; session_id: string; memcell_id: string | null; n: number }>(
      `SELECT app_id, session_id, memcell_id, COUNT(*) AS n FROM ${table} GROUP BY app_id, session_id, memcell_id`
    )
    for (const row of rows) result[`${table}|${row.app_id}|${row.session_id}|${row.memcell_id ?? "buffer"}`] = row.n
  }
  return result
})

/** The rows of `before` that are gone in `after`, summed per table, plus rows that changed otherwise. */
const difference = (before: Record<string, number>, after: Record<string, number>) => {
  const removed: Record<Table, number> = { messages: 0, memcells: 0, extraction_jobs: 0, episodes: 0, atomic_facts: 0, foresight: 0 }
  const removedKeys: Array<string> = []
  const changed: Array<string> = []
  for (const [key, n] of Object.entries(before)) {
    const left = after[key] ?? 0
    if (left === 0) {
      removed[key.split("|")[0] as Table] += n
      removedKeys.push(key)
    } else if (left !== n) changed.push(key)
  }
  for (const key of Object.keys(after)) if (!(key in before)) changed.push(key)
  return { removed, removedKeys: removedKeys.sort(), changed }
}

const say = (id: string, sender: string, minute: number, content: string, role: IncomingMessage["role"] = "user"): IncomingMessage => ({
  message_id: id,
  sender_id: sender,
  role,
  timestamp: MONDAY + minute * 60_000,
  content
})

const scopeOf = (app: string, session_id: string) => ({ app_id: ScopeId.make(app), project_id: ScopeId.make("default"), session_id })

/** Claims and runs every ready job (the workers are off, so the test decides when extraction happens). */
const extractAll = Effect.gen(function*() {
  const jobs = yield* JobQueue
  const runner = yield* JobRunner
  const claimed = yield* jobs.claim("test-runner", yield* Clock.currentTimeMillis, 60_000, 1000)
  yield* Effect.forEach(claimed, runner.run, { discard: true })
})

/**
 * In `app`: session A with memcell A1 (alice and bob), memcell A2 (bob only) and buffered messages
 * of both; session B with memcell B1 (alice). In `${app}-other`: alice in a session also named A.
 */
const world = (app: string) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const add = (session: string, messages: ReadonlyArray<IncomingMessage>, a = app) => memory.add({ ...scopeOf(a, session), messages })
    yield* add("A", [
      say(`${app}-a1`, "alice", 0, "I live in Lisbon. Next Friday I am flying to Porto."),
      say(`${app}-a2`, "bob", 1, "I am a chef in Porto and I love fresh fish."),
      say(`${app}-a3`, "assistant", 2, "Porto sounds lovely.", "assistant")
    ])
    yield* memory.flush(scopeOf(app, "A"))
    yield* add("A", [say(`${app}-a4`, "bob", 3, "I play chess every Sunday. Tomorrow I will visit my sister.")])
    yield* memory.flush(scopeOf(app, "A"))
    yield* add("A", [say(`${app}-a5`, "alice", 4, "I have a cat named Miso."), say(`${app}-a6`, "bob", 5, "I have a dog.")])
    yield* add("B", [say(`${app}-b1`, "alice", 6, "I work as a nurse. Next Monday I start a new shift plan.")])
    yield* memory.flush(scopeOf(app, "B"))
    yield* add("A", [say(`${app}-o1`, "alice", 7, "I live in Rome. Next Friday I am flying to Paris.")], `${app}-other`)
    yield* memory.flush(scopeOf(`${app}-other`, "A"))
    yield* extractAll
    const cells = (session: string, a = app) => Effect.map(memory.session(scopeOf(a, session)), (s) => s.memcells.map((c) => c.memcell_id))
    const [a1, a2] = yield* cells("A")
    const [b1] = yield* cells("B")
    return { a1: a1!, a2: a2!, b1: b1! }
  })

const forget = (input: Record<string, unknown>) =>
  Effect.flatMap(Schema.decodeUnknown(DeleteRequest)(input), (request) => Effect.flatMap(Forget, (f) => f.delete(request)))

const testLayer = (database: Layer.Layer<SqlClient.SqlClient>) =>
  Layer.mergeAll(Forget.Default).pipe(
    Layer.provideMerge(extractionTestLayer({ llm: () => boundaryAnswer([]), workers: false, database }))
  )

forEachEngine((engine) => layer(testLayer(engine.fresh))("Forget", (it) => {
  it.effect("a session: all its messages (buffered too), memcells, jobs and derived rows, nothing else", () =>
    Effect.gen(function*() {
      const { a1, a2 } = yield* world("sess")
      const before = yield* snapshot
      const counts = yield* forget({ app_id: "sess", session_id: "A" })
      const diff = difference(before, yield* snapshot)

      expect(diff.changed).toEqual([])
      expect(diff.removedKeys.every((key) => key.startsWith(`${key.split("|")[0]}|sess|A|`))).toBe(true)
      // Everything of sess/A is gone from every table...
      expect(Object.keys(yield* snapshot).filter((key) => key.includes("|sess|A|"))).toEqual([])
      // ...and the counts are exactly what was there.
      expect(counts).toEqual({
        messages: diff.removed.messages,
        memcells: diff.removed.memcells,
        episodes: diff.removed.episodes,
        atomic_facts: diff.removed.atomic_facts,
        foresight: diff.removed.foresight,
        jobs: diff.removed.extraction_jobs
      })
      expect(counts).toMatchObject({ messages: 6, memcells: 2, jobs: 6 })
      expect(counts.episodes).toBeGreaterThanOrEqual(2)
      expect(counts.atomic_facts).toBeGreaterThan(0)
      expect(counts.foresight).toBeGreaterThan(0)
      expect(before[`memcells|sess|A|${a1}`]).toBe(1)
      expect(before[`memcells|sess|A|${a2}`]).toBe(1)
      // Session B and the other scope's session A are untouched (checked by `changed` and here).
      expect(before[`messages|sess-other|A|buffer`] ?? 0).toBe(0)
      expect(Object.keys(before).some((key) => key.startsWith("episodes|sess-other|A|"))).toBe(true)
      expect(Object.keys(before).some((key) => key.startsWith("episodes|sess|B|"))).toBe(true)

      // Deleting again finds nothing.
      expect(yield* forget({ app_id: "sess", session_id: "A" })).toEqual({
        messages: 0, memcells: 0, episodes: 0, atomic_facts: 0, foresight: 0, jobs: 0
      })
    }))

  it.effect("memcell ids: those memcells with their messages, jobs and derived rows; the buffer stays", () =>
    Effect.gen(function*() {
      const { a1 } = yield* world("cell")
      const before = yield* snapshot
      const counts = yield* forget({ app_id: "cell", memcell_ids: [a1, "no-such-memcell"] })
      const diff = difference(before, yield* snapshot)
      expect(diff.changed).toEqual([])
      expect(diff.removedKeys.every((key) => key.endsWith(`|cell|A|${a1}`))).toBe(true)
      expect(diff.removedKeys.length).toBe(TABLES.length)
      expect(counts).toEqual({
        messages: 3,
        memcells: 1,
        episodes: diff.removed.episodes,
        atomic_facts: diff.removed.atomic_facts,
        foresight: diff.removed.foresight,
        jobs: 3
      })
      // A memcell id of another scope is never reached.
      const foreign = yield* forget({ app_id: "cell-other", memcell_ids: [a1] })
      expect(foreign.memcells).toBe(0)
    }))

  it.effect("a user: their messages (buffered too) and every memcell holding one, whole, with its derived rows", () =>
    Effect.gen(function*() {
      const { a1, a2, b1 } = yield* world("user")
      const before = yield* snapshot
      const counts = yield* forget({ app_id: "user", user_id: "alice" })
      const after = yield* snapshot
      const diff = difference(before, after)
      // Of session A's buffer (alice + bob) only bob's message is left.
      expect(diff.changed).toEqual(["messages|user|A|buffer"])
      // A1 goes with bob's message in it; B1 and alice's buffered message go; A2 (bob only) and bob's buffered message stay.
      expect(diff.removedKeys.filter((key) => key.startsWith("memcells|"))).toEqual(
        [`memcells|user|A|${a1}`, `memcells|user|B|${b1}`].sort()
      )
      expect(after[`memcells|user|A|${a2}`]).toBe(1)
      expect(after[`episodes|user|A|${a2}`]).toBeGreaterThan(0)
      expect(after["messages|user|A|buffer"]).toBe(1)
      expect(counts).toEqual({
        messages: 5,
        memcells: 2,
        episodes: diff.removed.episodes,
        atomic_facts: diff.removed.atomic_facts,
        foresight: diff.removed.foresight,
        jobs: 6
      })
      const sql = yield* SqlClient.SqlClient
      const aliceLeft = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM messages WHERE app_id = 'user' AND sender_id = 'alice'`
      expect(aliceLeft[0]!.n).toBe(0)
      const aliceElsewhere = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM messages WHERE app_id = 'user-other' AND sender_id = 'alice'`
      expect(aliceElsewhere[0]!.n).toBe(1)
    }))

  it.effect("criteria narrow each other: a user within one session", () =>
    Effect.gen(function*() {
      const { b1 } = yield* world("both")
      const before = yield* snapshot
      const counts = yield* forget({ app_id: "both", user_id: "alice", session_id: "B" })
      const diff = difference(before, yield* snapshot)
      expect(diff.changed).toEqual([])
      expect(diff.removedKeys.every((key) => key.endsWith(`|both|B|${b1}`))).toBe(true)
      expect(counts).toMatchObject({ messages: 1, memcells: 1, jobs: 3 })
    }))

  describe("a job that finishes after its memcell was deleted", () => {
    /** Extractors that announce themselves on `entered`, then wait for `gate` before answering. */
    const gatedExtractors = (entered: Queue.Queue<string>, gate: Deferred.Deferred<void>) => {
      const gated = <A>(kind: string, answer: A) => Queue.offer(entered, kind).pipe(Effect.zipRight(Deferred.await(gate)), Effect.as(answer))
      return Layer.mergeAll(
        Layer.succeed(EpisodeExtractor, {
          name: "gated",
          extract: (input) =>
            gated("episode", userSenders(input).map((sender_id) => ({ sender_id, title: "t", content: "c", summary: "s" })))
        }),
        Layer.succeed(FactExtractor, {
          name: "gated",
          extract: (input) =>
            gated("facts", userSenders(input).map((sender_id) => ({ sender_id, content: "a fact", message_ids: [input.memcell.message_ids[0]!] })))
        }),
        Layer.succeed(ForesightExtractor, {
          name: "gated",
          extract: (input) =>
            gated(
              "foresight",
              userSenders(input).map((sender_id) => ({
                sender_id,
                content: "a plan",
                start_time: MONDAY,
                end_time: null,
                evidence: "e",
                message_ids: [input.memcell.message_ids[0]!]
              }))
            )
        })
      )
    }

    /** Starts the three jobs of a fresh memcell of `app`, all held inside their extractors. */
    const heldJobs = (app: string) =>
      Effect.gen(function*() {
        const memory = yield* Memory
        yield* memory.add({ ...scopeOf(app, "R"), messages: [say(`${app}-r1`, "alice", 0, "I live in Oslo.")] })
        const [memcellId] = (yield* memory.flush(scopeOf(app, "R"))).memcell_ids
        const entered = yield* Queue.unbounded<string>()
        const gate = yield* Deferred.make<void>()
        const runner = yield* JobRunner.pipe(Effect.provide(JobRunner.Default.pipe(Layer.provide(gatedExtractors(entered, gate)))))
        const jobs = yield* JobQueue
        const claimed = (yield* jobs.claim("held", yield* Clock.currentTimeMillis, 60_000, 1000)).filter((job) => job.app_id === app)
        expect(claimed.length).toBe(3)
        const running = yield* Effect.fork(Effect.forEach(claimed, runner.run, { concurrency: "unbounded", discard: true }))
        for (let i = 0; i < 3; i++) yield* Queue.take(entered)
        return { memcellId: memcellId!, release: Deferred.succeed(gate, undefined), running }
      })

    const derivedRows = (app: string) =>
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ n: number }>`
          SELECT (SELECT COUNT(*) FROM episodes WHERE app_id = ${app})
               + (SELECT COUNT(*) FROM atomic_facts WHERE app_id = ${app})
               + (SELECT COUNT(*) FROM foresight WHERE app_id = ${app}) AS n`.pipe(Effect.map((rows) => rows[0]!.n)))

    it.effect("after Forget: writes nothing and finishes cleanly", () =>
      Effect.gen(function*() {
        const held = yield* heldJobs("race")
        const counts = yield* forget({ app_id: "race", session_id: "R" })
        expect(counts).toMatchObject({ messages: 1, memcells: 1, jobs: 3, episodes: 0 })
        yield* held.release
        yield* Fiber.join(held.running)
        expect(yield* derivedRows("race")).toBe(0)
        const left = yield* snapshot
        expect(Object.keys(left).filter((key) => key.includes("|race|"))).toEqual([])
      }))

    it.effect("when only the memcell went (its jobs kept): writes nothing, marks the jobs done", () =>
      Effect.gen(function*() {
        const held = yield* heldJobs("orphan")
        const sql = yield* SqlClient.SqlClient
        yield* sql`DELETE FROM memcells WHERE memcell_id = ${held.memcellId}`
        yield* held.release
        yield* Fiber.join(held.running)
        expect(yield* derivedRows("orphan")).toBe(0)
        const statuses = yield* sql<{ status: string }>`SELECT status FROM extraction_jobs WHERE app_id = 'orphan'`
        expect(statuses.map((s) => s.status)).toEqual(["done", "done", "done"])
      }))

    it.effect("control: with the memcell still there the same jobs do write", () =>
      Effect.gen(function*() {
        const held = yield* heldJobs("control")
        yield* held.release
        yield* Fiber.join(held.running)
        expect(yield* derivedRows("control")).toBe(3)
      }))
  })
}))

describe("DeleteRequest", () => {
  const decode = Schema.decodeUnknownEither(DeleteRequest)
  it("needs a criterion, refuses unknown keys and bounds memcell_ids", () => {
    const cases: Array<[unknown, string]> = [
      [{}, "user_id"],
      [{ app_id: "shop" }, "user_id"],
      [{ session_id: "s", everything: true }, "everything"],
      [{ memcell_ids: [] }, "memcell_ids"],
      [{ memcell_ids: Array.from({ length: 501 }, (_, i) => `m${i}`) }, "memcell_ids"],
      [{ memcell_ids: [""] }, "memcell_ids.0"],
      [{ user_id: "a b" }, "user_id"],
      [{ session_id: "" }, "session_id"]
    ]
    for (const [input, path] of cases) {
      const result = decode(input)
      expect({ path, failed: Either.isLeft(result) }).toEqual({ path, failed: true })
      if (Either.isLeft(result)) expect(firstIssue(result.left).path).toBe(path)
    }
    expect(Either.getOrThrow(decode({ session_id: "s" }))).toEqual({ app_id: "default", project_id: "default", session_id: "s" })
  })
})
