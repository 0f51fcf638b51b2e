import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Schedule, Scope, TestClock, TestServices } from "effect"
import type { ChatRequest } from "../../src/Llm/LlmClient.js"
import { BIG_MEMCELL_CHARS, JobRunner } from "../../src/Workers/JobRunner.js"
import { ExtractionWorkersLive } from "../../src/Workers/ExtractionWorkers.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { JobQueue } from "../../src/Jobs/JobQueue.js"
import { FakeLlm } from "../support/FakeLlm.js"
import { extractionTestLayer } from "../support/ExtractionTestLayer.js"
import { boundaryAnswer } from "../support/MemoryTestLayer.js"
import { forEachEngine } from "../support/Engines.js"
import { addRequest, keyOf } from "../support/Messages.js"
import { vi } from "vitest"

// Each test builds a database, the tokenizer and the lexicon and ingests a conversation: seconds on a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 })

const MONDAY = Date.UTC(2024, 4, 6, 18, 0)

const conversation = [
  { sender_id: "alice", role: "user" as const, content: "I moved to Berlin last year for a job at a robotics startup." },
  { sender_id: "assistant", role: "assistant" as const, content: "Congratulations! How are you finding Berlin so far?" },
  { sender_id: "alice", role: "user" as const, content: "I love it. Next Friday I'm flying to Lisbon for a conference." },
  { sender_id: "assistant", role: "assistant" as const, content: "Lisbon is lovely in May. Enjoy the conference!" }
].map((m, i) => ({ ...m, message_id: `c${i}`, timestamp: MONDAY + i * 60_000 }))

const rows = <A extends object>(query: string) => Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<A>(query))

const jobStates = rows<{ kind: string; status: string; attempts: number; last_error: string | null; run_after: number }>(
  "SELECT kind, status, attempts, last_error, run_after FROM extraction_jobs ORDER BY kind"
)

/**
 * The job states once the workers the clock just woke have written: on Postgres their queries go
 * over a socket, so `TestClock.adjust` returns before they are answered. Reads again in real time
 * until `settled` holds, for at most 30 s, and returns the last read (the caller asserts on it).
 */
const jobStatesOnce = (settled: (states: ReadonlyArray<{ kind: string; status: string }>) => boolean) =>
  TestServices.provideLive(
    jobStates.pipe(
      Effect.filterOrFail(settled, () => "not settled yet" as const),
      Effect.retry({ while: (error) => error === "not settled yet", schedule: Schedule.spaced("20 millis") }),
      Effect.timeout("30 seconds"),
      Effect.orElse(() => jobStates)
    )
  )
const allDone = (states: ReadonlyArray<{ status: string }>) => states.every((j) => j.status === "done")

/**
 * Adds the conversation to `session`, flushes it and starts the workers in a scope of their own
 * (closed by the caller), until the episode job is running on them.
 */
const episodeJobRunning = (session: string) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    yield* memory.add(addRequest(session, conversation))
    yield* memory.flush(keyOf(session))
    const scope = yield* Scope.make()
    yield* Layer.buildWithScope(ExtractionWorkersLive, scope)
    yield* TestClock.adjust("10 millis")
    expect((yield* jobStates).find((j) => j.kind === "episode")!.status).toBe("running")
    return scope
  })

/** Answers boundary prompts with "no cut" and extraction prompts well-formed, unless `override` says otherwise. */
const modelWith = (override: (request: ChatRequest) => string | Effect.Effect<string> | undefined = () => undefined) =>
(request: ChatRequest) => {
  const special = override(request)
  if (special !== undefined) return special
  switch (request.purpose) {
    case "boundary":
      return boundaryAnswer([])
    case "episode":
      return JSON.stringify({ title: "Berlin and Lisbon", content: "Alice moved to Berlin and plans a trip.", summary: "Alice's move and trip." })
    case "fact":
      return JSON.stringify({ facts: [{ content: "Alice moved to Berlin last year.", message_numbers: [1] }] })
    default:
      return JSON.stringify({ items: [] })
  }
}

forEachEngine((engine) => describe("extraction runtime", () => {
  it.live("a flushed session becomes episodes, facts and foresight with provenance (local extractors)", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      yield* memory.add(addRequest("trip", conversation))
      const flushed = yield* memory.flush(keyOf("trip"), { wait: "20 seconds" })
      expect(flushed.extraction_complete).toBe(true)
      const [cell] = (yield* memory.session(keyOf("trip"))).memcells
      expect(cell!.message_ids).toEqual(["c0", "c1", "c2", "c3"])

      const episodes = yield* rows<{ memcell_id: string; user_id: string; message_ids: string; content: string; summary: string }>(
        "SELECT memcell_id, user_id, message_ids, content, summary FROM episodes"
      )
      // One episode per user sender; the assistant gets none.
      expect(episodes.map((e) => e.user_id)).toEqual(["alice"])
      expect(episodes[0]!.memcell_id).toBe(cell!.memcell_id)
      expect(JSON.parse(episodes[0]!.message_ids)).toEqual(["c0", "c1", "c2", "c3"])
      for (const m of conversation) expect(episodes[0]!.content).toContain(m.content.slice(0, 20))
      expect(episodes[0]!.summary.length).toBeLessThanOrEqual(400)

      const facts = yield* rows<{ content: string; message_ids: string; episode_id: string }>("SELECT content, message_ids, episode_id FROM atomic_facts")
      expect(facts.some((f) => f.content.includes("Berlin") && JSON.parse(f.message_ids).includes("c0"))).toBe(true)

      const foresight = yield* rows<{ start_time: number; message_ids: string }>("SELECT start_time, message_ids FROM foresight")
      expect(foresight.length).toBeGreaterThan(0)
      expect(new Date(foresight[0]!.start_time).toISOString().slice(0, 10)).toBe("2024-05-10")
      expect(JSON.parse(foresight[0]!.message_ids)).toEqual(["c2"])

      const jobs = yield* jobStates
      expect(jobs.map((j) => [j.kind, j.status])).toEqual([["episode", "done"], ["facts", "done"], ["foresight", "done"]])
    }).pipe(Effect.provide(extractionTestLayer({ database: engine.fresh, llm: modelWith(), env: { ENGRAM_EXTRACTION_POLL_INTERVAL: "50 millis" } }))))

  it.effect("two extraction jobs of a memcell finishing together queue its track jobs", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const jobs = yield* JobQueue
      const runner = yield* JobRunner
      // Several rounds: each one is a chance for the two finishing transactions to interleave.
      for (const sid of ["race-1", "race-2", "race-3", "race-4"]) {
        yield* memory.add(addRequest(sid, conversation.map((m) => ({ ...m, message_id: `${sid}-${m.message_id}` }))))
        yield* memory.flush(keyOf(sid))
        const claimed = yield* jobs.claim("worker", yield* TestClock.currentTimeMillis, 30_000, 10)
        // (Earlier rounds' profile jobs are claimed too, and left alone.)
        const [together, alone] = [
          claimed.filter((j) => j.kind === "episode" || j.kind === "facts"),
          claimed.filter((j) => j.kind === "foresight")
        ]
        for (const job of alone) yield* runner.run(job)
        // The episode and facts models answer only once both were asked: both results commit at once.
        yield* Effect.all(together.map((job) => runner.run(job)), { concurrency: "unbounded" })
        const tracks = yield* rows<{ kind: string }>(`SELECT kind FROM extraction_jobs WHERE session_id = '${sid}' AND kind = 'profile'`)
        expect(tracks.map((t) => t.kind)).toEqual(["profile"])
      }
    }).pipe(Effect.provide(pairedAnswersLayer(engine.fresh))))

  // Over SQLite's synchronous driver a job would otherwise run from claim to model call in microtasks.
  it.effect.skipIf(engine.name === "postgres")("a job of a big memcell lets the event loop in after reading it (megabytes of text do not hold requests up)", () => {
    const probe: LoopProbe = { ran: false, seenByModel: [] }
    return Effect.gen(function*() {
      const memory = yield* Memory
      const jobs = yield* JobQueue
      const runner = yield* JobRunner
      // One message as long as a big memcell's (BIG_MEMCELL_CHARS); small memcells run through.
      const long = { ...conversation[0]!, message_id: "long", timestamp: MONDAY - 60_000, content: "word ".repeat(BIG_MEMCELL_CHARS / 5) }
      yield* memory.add(addRequest("loop", [long, ...conversation]))
      yield* memory.flush(keyOf("loop"))
      const claimed = yield* jobs.claim("worker", yield* TestClock.currentTimeMillis, 30_000, 10)
      const episodeJob = claimed.find((j) => j.kind === "episode")!
      // A request's callback queued before the job starts must run before the job asks its model.
      setImmediate(() => (probe.ran = true))
      yield* runner.run(episodeJob)
      expect(probe.seenByModel).toEqual([true])
    }).pipe(Effect.provide(loopProbeLayer(engine.fresh, probe)))
  })

  // TestClock steps run the background workers to completion only over SQLite's synchronous driver.
  it.effect.skipIf(engine.name === "postgres")("malformed answers are retried with backoff, then dead-lettered with the error; a retry of the dead letter succeeds", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const jobs = yield* JobQueue
      yield* memory.add(addRequest("bad", conversation))
      yield* memory.flush(keyOf("bad"))
      yield* TestClock.adjust("10 millis")
      let episode = (yield* jobStates).find((j) => j.kind === "episode")!
      expect(episode).toMatchObject({ status: "queued", attempts: 1 })
      expect(episode.last_error).toContain("episode")
      // Jittered backoff of the first retry: between 0.8 s and 1.2 s of a 1 s base.
      const failedAt = yield* TestClock.currentTimeMillis
      expect(episode.run_after - failedAt).toBeGreaterThanOrEqual(790)
      expect(episode.run_after - failedAt).toBeLessThanOrEqual(1210)
      yield* TestClock.adjust("700 millis")
      expect((yield* jobStates).find((j) => j.kind === "episode")!.attempts).toBe(1)
      yield* TestClock.adjust("1 second")
      episode = (yield* jobStates).find((j) => j.kind === "episode")!
      expect(episode).toMatchObject({ status: "dead", attempts: 2 })
      expect(episode.last_error).toContain("no usable episode answer in 3 attempts")
      // The other kinds were not held up by the failing one.
      expect((yield* jobStates).filter((j) => j.kind !== "episode").map((j) => j.status)).toEqual(["done", "done"])

      expect(yield* jobs.retryDead(null, yield* TestClock.currentTimeMillis)).toBe(1)
      yield* TestClock.adjust("1 second")
      expect((yield* jobStatesOnce(allDone)).map((j) => j.status)).toEqual(["done", "done", "done"])
    }).pipe(Effect.provide(brokenEpisodeLayer(engine.fresh))))

  it.effect("a job claimed by a worker that died is completed exactly once after its lease expires", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const jobs = yield* JobQueue
      const runner = yield* JobRunner
      yield* memory.add(addRequest("crash", conversation))
      yield* memory.flush(keyOf("crash"))
      // A worker claims every job and dies before finishing any.
      const stale = yield* jobs.claim("dead-worker", yield* TestClock.currentTimeMillis, 30_000, 10)
      expect(stale.length).toBe(3)

      // A fresh runtime starts (the process restarted) and picks them up once the lease is over.
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(ExtractionWorkersLive, scope)
      yield* TestClock.adjust("20 seconds")
      expect((yield* jobStates).map((j) => j.status)).toEqual(["running", "running", "running"])
      yield* TestClock.adjust("15 seconds")
      expect((yield* jobStatesOnce(allDone)).map((j) => j.status)).toEqual(["done", "done", "done"])
      yield* Scope.close(scope, Exit.void)

      // The dead worker "comes back" and tries to finish its stale claims: nothing is written twice.
      for (const job of stale) expect((yield* Effect.flip(runner.run(job)))._tag).toBe("LeaseLost")
      const counts = yield* rows<{ n: number }>(
        "SELECT (SELECT COUNT(*) FROM episodes) + (SELECT COUNT(*) FROM atomic_facts) * 100 AS n"
      )
      expect(counts[0]!.n).toBe(1 + 100)
    }).pipe(Effect.provide(
      extractionTestLayer({ database: engine.fresh, llm: modelWith(), extractors: "llm", workers: false, env: { ENGRAM_EXTRACTION_LEASE: "30 seconds" } })
    )))

  // TestClock steps run the background workers to completion only over SQLite's synchronous driver.
  it.effect.skipIf(engine.name === "postgres")("a job running longer than its lease keeps it: nobody takes it over, it finishes once", () =>
    Effect.gen(function*() {
      const jobs = yield* JobQueue
      const scope = yield* episodeJobRunning("long")
      // Past the 3 s lease the worker claimed with: renewed, so it is not claimable.
      yield* TestClock.adjust("5 seconds")
      expect(yield* jobs.claim("intruder", yield* TestClock.currentTimeMillis, 3_000, 10)).toEqual([])
      yield* TestClock.adjust("6 seconds")
      expect((yield* jobStates).map((j) => j.status)).toEqual(["done", "done", "done"])
      yield* Scope.close(scope, Exit.void)
      const episodeCalls = (yield* Effect.flatMap(FakeLlm, (fake) => fake.calls)).filter((c) => c.purpose === "episode")
      expect(episodeCalls.length).toBe(1)
      expect(yield* rows<{ n: number }>("SELECT COUNT(*) AS n FROM episodes")).toEqual([{ n: 1 }])
    }).pipe(Effect.provide(
      extractionTestLayer({
        database: engine.fresh,
        llm: modelWith((r) => (r.purpose === "episode" ? Effect.as(Effect.sleep("10 seconds"), modelWith()(r) as string) : undefined)),
        extractors: "llm",
        workers: false,
        env: { ENGRAM_EXTRACTION_LEASE: "3 seconds" }
      })
    )))

  it.effect.skipIf(engine.name === "postgres")("a run whose job was taken from it stops at the next renewal instead of waiting for an answer that cannot land", () => {
    let interrupted = false
    return Effect.gen(function*() {
      const scope = yield* episodeJobRunning("taken")
      // Another node holds it now (as after an expired lease and its claim).
      yield* rows("UPDATE extraction_jobs SET lease_owner = 'other-node' WHERE kind = 'episode'")
      yield* TestClock.adjust("1 second")
      expect(interrupted).toBe(true)
      yield* Scope.close(scope, Exit.void)
      const [episode] = yield* rows<{ status: string; lease_owner: string }>("SELECT status, lease_owner FROM extraction_jobs WHERE kind = 'episode'")
      // Left to its owner: the stopped run neither finished, failed nor released it.
      expect(episode).toEqual({ status: "running", lease_owner: "other-node" })
      expect(yield* rows<{ n: number }>("SELECT COUNT(*) AS n FROM episodes")).toEqual([{ n: 0 }])
    }).pipe(Effect.provide(
      extractionTestLayer({
        database: engine.fresh,
        llm: modelWith((r) =>
          r.purpose === "episode"
            ? Effect.sleep("1 hour").pipe(Effect.as("{}"), Effect.onInterrupt(() => Effect.sync(() => { interrupted = true })))
            : undefined
        ),
        extractors: "llm",
        workers: false,
        env: { ENGRAM_EXTRACTION_LEASE: "3 seconds" }
      })
    ))
  })

  it.effect("shutdown hands a running job back to the queue without spending an attempt", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      yield* memory.add(addRequest("stop", conversation))
      yield* memory.flush(keyOf("stop"))
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(ExtractionWorkersLive, scope)
      yield* TestClock.adjust("10 millis")
      expect((yield* jobStates).find((j) => j.kind === "episode")!.status).toBe("running")
      yield* Scope.close(scope, Exit.void)
      expect((yield* jobStates).find((j) => j.kind === "episode")).toMatchObject({ status: "queued", attempts: 0 })
    }).pipe(Effect.provide(
      extractionTestLayer({
        database: engine.fresh,
        llm: modelWith((r) => (r.purpose === "episode" ? Effect.as(Effect.sleep("1 hour"), "{}") : undefined)),
        extractors: "llm",
        workers: false
      })
    )))

  // TestClock steps run the background workers to completion only over SQLite's synchronous driver.
  it.effect.skipIf(engine.name === "postgres")("a slow job does not stop the others", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      for (const sid of ["slow", "fast-1", "fast-2"]) {
        yield* memory.add(addRequest(sid, conversation.map((m) => ({ ...m, message_id: `${sid}-${m.message_id}`, content: `${sid}: ${m.content}` }))))
        yield* memory.flush(keyOf(sid))
      }
      yield* TestClock.adjust("1 second")
      const states = yield* rows<{ session_id: string; status: string }>("SELECT session_id, status FROM extraction_jobs")
      expect(states.filter((s) => s.session_id !== "slow").every((s) => s.status === "done")).toBe(true)
      expect(states.some((s) => s.session_id === "slow" && s.status === "running")).toBe(true)
    }).pipe(Effect.provide(
      extractionTestLayer({
        database: engine.fresh,
        llm: modelWith((r) =>
          r.purpose === "episode" && r.messages[1]!.content.includes("slow:") ? Effect.as(Effect.sleep("1 hour"), "{}") : undefined
        ),
        extractors: "llm",
        env: { ENGRAM_EXTRACTION_CONCURRENCY: "2" }
      })
    )))
}))

forEachEngine((engine) => describe("extraction runtime, one combined call per memcell", () => {
  const combinedModel = modelWith((r) =>
    r.purpose === "extraction"
      ? JSON.stringify({
        episodes: [{ user: "alice", title: "Berlin and Lisbon", content: "Alice moved to Berlin and plans a trip.", summary: "Alice's move and trip." }],
        facts: [{ content: "Alice moved to Berlin last year.", lines: [1] }],
        foresight: [{ user: "alice", content: "Alice flies to Lisbon on 2024-05-10.", start: "2024-05-10", end: null, evidence: "Next Friday", lines: [3] }]
      })
      : undefined
  )

  it.effect("one memcell job, one model call, everything written once; a worker that lost its lease writes nothing", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const jobs = yield* JobQueue
      const runner = yield* JobRunner
      yield* memory.add(addRequest("one", conversation))
      yield* memory.flush(keyOf("one"))
      const stale = yield* jobs.claim("dead-worker", yield* TestClock.currentTimeMillis, 30_000, 10)
      expect(stale.map((j) => j.kind)).toEqual(["memcell"])

      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(ExtractionWorkersLive, scope)
      yield* TestClock.adjust("35 seconds")
      expect((yield* jobStatesOnce(allDone)).map((j) => [j.kind, j.status])).toEqual([["memcell", "done"]])
      yield* Scope.close(scope, Exit.void)
      expect((yield* Effect.flip(runner.run(stale[0]!)))._tag).toBe("LeaseLost")

      const counts = yield* rows<{ episodes: number; facts: number; foresight: number }>(
        "SELECT (SELECT COUNT(*) FROM episodes) AS episodes, (SELECT COUNT(*) FROM atomic_facts) AS facts, (SELECT COUNT(*) FROM foresight) AS foresight"
      )
      expect(counts[0]).toEqual({ episodes: 1, facts: 1, foresight: 1 })
      const extractionCalls = (yield* Effect.flatMap(FakeLlm, (fake) => fake.calls)).filter((c) => c.purpose === "extraction")
      // One call per run of the job: the worker that took over, and the stale worker whose answer was dropped.
      expect(extractionCalls.length).toBe(2)
    }).pipe(Effect.provide(
      extractionTestLayer({ database: engine.fresh, llm: combinedModel, extractors: "llm-combined", workers: false, env: { ENGRAM_EXTRACTION_LEASE: "30 seconds" } })
    )))
}))

/** The model's first 6 episode answers (2 attempts x 3 tries) are garbage; later ones are fine. */
const brokenEpisodeLayer = (database: Layer.Layer<SqlClient.SqlClient>) => {
  let episodeCalls = 0
  return extractionTestLayer({
    database,
    llm: modelWith((r) => (r.purpose === "episode" && episodeCalls++ < 6 ? "no JSON here" : undefined)),
    extractors: "llm",
    env: { ENGRAM_EXTRACTION_MAX_ATTEMPTS: "2", ENGRAM_EXTRACTION_BACKOFF_BASE: "1 second", ENGRAM_EXTRACTION_POLL_INTERVAL: "100 millis" }
  })
}

/**
 * Episode and fact prompts are answered in pairs: each waits until the other of its pair was asked
 * (a barrier that re-arms), so the two jobs' result transactions run at the same time.
 */
const pairedAnswersLayer = (database: Layer.Layer<SqlClient.SqlClient>) => {
  let waiting: (() => void) | undefined
  const bothAsked = () =>
    new Promise<void>((resolve) => {
      if (waiting === undefined) {
        waiting = resolve
      } else {
        waiting()
        waiting = undefined
        resolve()
      }
    })
  return extractionTestLayer({
    database,
    llm: modelWith((r) =>
      r.purpose === "episode" || r.purpose === "fact"
        ? Effect.flatMap(Effect.promise(bothAsked), () => Effect.succeed(modelWith()(r) as string))
        : undefined
    ),
    extractors: "llm",
    workers: false,
    env: { ENGRAM_PROFILES: "on" }
  })
}

/** Whether a queued `setImmediate` callback had run when the episode model was asked (each ask recorded). */
interface LoopProbe {
  ran: boolean
  readonly seenByModel: Array<boolean>
}
const loopProbeLayer = (database: Layer.Layer<SqlClient.SqlClient>, probe: LoopProbe) =>
  extractionTestLayer({
    database,
    llm: modelWith((r) => {
      if (r.purpose === "episode") probe.seenByModel.push(probe.ran)
      return undefined
    }),
    extractors: "llm",
    workers: false
  })
