import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Option, Schema } from "effect"
import { vi } from "vitest"
import { GetRequest } from "../../src/Domain/GetRequest.js"
import { SearchRequest } from "../../src/Domain/SearchRequest.js"
import { JobRunner } from "../../src/Workers/JobRunner.js"
import { JobQueue } from "../../src/Jobs/JobQueue.js"
import type { ChatRequest } from "../../src/Llm/LlmClient.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { Forget } from "../../src/Reading/Forget.js"
import { MemoryReader } from "../../src/Reading/MemoryReader.js"
import { Search } from "../../src/Search/Search.js"
import { FakeLlm } from "../support/FakeLlm.js"
import { forEachEngine } from "../support/Engines.js"
import { extractionTestLayer } from "../support/ExtractionTestLayer.js"
import { boundaryAnswer } from "../support/MemoryTestLayer.js"
import { addRequest, keyOf } from "../support/Messages.js"

// Each test builds a database, the tokenizer and the lexicon: seconds on a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 })

const MONDAY = Date.UTC(2024, 4, 6, 18, 0)
const PROFILES_ON = { ENGRAM_PROFILES: "on" }

const conversation = (session: string, lines: ReadonlyArray<string>, start = MONDAY) =>
  lines.map((content, i) => ({
    sender_id: i % 2 === 0 ? "alice" : "assistant",
    role: i % 2 === 0 ? "user" as const : "assistant" as const,
    content,
    message_id: `${session}-${i}`,
    timestamp: start + i * 60_000
  }))

const berlin = conversation("berlin", [
  "I moved to Berlin last year for a job at a robotics startup.",
  "Congratulations! How are you finding Berlin so far?",
  "I love it. My sister lives in Hamburg, so I visit her often.",
  "That sounds lovely."
])
const cooking = conversation("cooking", [
  "I have been a vegetarian for ten years and I love cooking Thai food.",
  "Nice! Any favourite dish?",
  "Green curry with tofu, every Sunday.",
  "Sounds delicious."
], MONDAY + 86_400_000)

/** Claims and runs every runnable job, one at a time (the test drives the queue). */
const drain = Effect.gen(function*() {
  const jobs = yield* JobQueue
  const runner = yield* JobRunner
  for (let i = 0; i < 100; i++) {
    const [job] = yield* jobs.claim("test", yield* Clock.currentTimeMillis, 60_000, 1)
    if (job === undefined) return
    yield* runner.run(job)
  }
})

const remember = (session: string, messages: ReturnType<typeof conversation>) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    yield* memory.add(addRequest(session, messages))
    yield* memory.flush(keyOf(session))
    yield* drain
  })

const rows = <A extends object>(query: string) => Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<A>(query))

const getProfile = (user_id: string) =>
  Effect.flatMap(Schema.decodeUnknown(GetRequest)({ user_id, memory_type: "profile" }), (request) =>
    Effect.flatMap(MemoryReader, (reader) => reader.get(request)))

const searchWithProfile = (user_id: string, query: string) =>
  Effect.flatMap(Schema.decodeUnknown(SearchRequest)({ user_id, query, method: "keyword", include_profile: true }), (request) =>
    Effect.flatMap(Search, (search) => search.search(request)))

/** Boundaries never cut; extraction answers well-formed; profile answers as `profile` says. */
const modelWith = (profile: (request: ChatRequest) => string | undefined) => (request: ChatRequest) => {
  switch (request.purpose) {
    case "boundary":
      return boundaryAnswer([])
    case "episode":
      return JSON.stringify({ title: "Talk", content: request.messages[1]!.content.slice(0, 300), summary: "A talk." })
    case "fact":
      return JSON.stringify({ facts: [] })
    case "profile":
    case "profile_compact":
      return profile(request) ?? "{}"
    default:
      return JSON.stringify({ items: [] })
  }
}

forEachEngine((engine) => describe("profiles, offline", () => {
  it.effect("assembled from the user's facts after each memcell, served by get and include_profile, gone with the user", () =>
    Effect.gen(function*() {
      yield* remember("berlin", berlin)
      yield* remember("cooking", cooking)
      const jobs = yield* rows<{ kind: string; status: string }>("SELECT kind, status FROM extraction_jobs WHERE kind = 'profile'")
      expect(jobs).toEqual([{ kind: "profile", status: "done" }, { kind: "profile", status: "done" }])

      const got = yield* getProfile("alice")
      expect(got.total_count).toBe(1)
      const profile = got.profiles[0]!
      expect(profile).toMatchObject({ id: "profile_alice", user_id: "alice", builder: "facts", score: null })
      const items = profile.profile_data.explicit_info
      const berlinItem = items.find((item) => item.description.includes("Berlin"))
      expect(berlinItem?.evidence).toContain("berlin-0")
      // Newest first: the next day's facts (and their category) come before the Berlin ones.
      expect(items.findIndex((i) => i.description.includes("vegetarian"))).toBeLessThan(items.findIndex((i) => i.description.includes("Berlin")))
      // Deduplicated.
      expect(new Set(items.map((i) => i.description.toLowerCase())).size).toBe(items.length)
      expect(profile.profile_data.summary.length).toBeGreaterThan(0)

      const searched = yield* searchWithProfile("alice", "Berlin")
      expect(searched.profiles).toEqual([profile])
      expect((yield* searchWithProfile("bob", "Berlin")).profiles).toEqual([])

      yield* (yield* Forget).delete({ app_id: "default" as never, project_id: "default" as never, user_id: "alice" })
      expect(yield* rows("SELECT * FROM profiles")).toEqual([])
      expect(yield* rows("SELECT * FROM profile_memcells")).toEqual([])
      expect((yield* getProfile("alice")).profiles).toEqual([])
    }).pipe(Effect.provide(extractionTestLayer({ database: engine.fresh, llm: modelWith(() => undefined), workers: false, env: PROFILES_ON }))))

  it.effect("switched off: no profile job, yet a user with facts still gets a profile assembled on read", () =>
    Effect.gen(function*() {
      yield* remember("berlin", berlin)
      expect(yield* rows("SELECT * FROM extraction_jobs WHERE kind = 'profile'")).toEqual([])
      const searched = yield* searchWithProfile("alice", "Berlin")
      expect(searched.profiles).toHaveLength(1)
      expect(searched.profiles[0]!.builder).toBe("facts")
    }).pipe(Effect.provide(extractionTestLayer({ database: engine.fresh, llm: modelWith(() => undefined), workers: false }))))
}))

const created = JSON.stringify({
  explicit_info: [{ category: "home", description: "Lives in Berlin", evidence: [1] }],
  implicit_traits: [{ trait: "adventurous", description: "Moves for opportunities", basis: "moved city for a job", evidence: [1] }],
  summary: "Alice lives in Berlin."
})
const updated = JSON.stringify({
  operations: [
    { action: "add", type: "explicit", data: { category: "diet", description: "Is vegetarian", evidence: [1] } },
    { action: "update", type: "explicit", index: 0, data: { description: "Lives in Berlin, Germany", evidence: [1] } },
    { action: "delete", type: "implicit", index: 0 }
  ],
  summary: "Alice lives in Berlin and is vegetarian."
})

forEachEngine((engine) => describe("profiles with a model", () => {
  it.effect("created from the episodes, then updated by operations by index, with message ids as evidence", () =>
    Effect.gen(function*() {
      yield* remember("berlin", berlin)
      yield* remember("cooking", cooking)
      const calls = (yield* (yield* FakeLlm).calls).filter((c) => c.purpose === "profile")
      expect(calls).toHaveLength(2)
      expect(calls[0]!.messages[0]!.content).toContain("You build a long-term profile")
      expect(calls[0]!.messages[1]!.content).toContain("Target user: alice")
      expect(calls[1]!.messages[0]!.content).toContain("You update a long-term profile")
      expect(calls[1]!.messages[1]!.content).toContain("E0 [home] Lives in Berlin")

      const profile = (yield* getProfile("alice")).profiles[0]!
      expect(profile.builder).toBe("llm")
      expect(profile.profile_data.summary).toBe("Alice lives in Berlin and is vegetarian.")
      expect(profile.profile_data.explicit_info).toEqual([
        { category: "home", description: "Lives in Berlin, Germany", evidence: ["berlin-0", "berlin-1", "berlin-2", "berlin-3", "cooking-0", "cooking-1", "cooking-2", "cooking-3"] },
        { category: "diet", description: "Is vegetarian", evidence: ["cooking-0", "cooking-1", "cooking-2", "cooking-3"] }
      ])
      expect(profile.profile_data.implicit_traits).toEqual([])
    }).pipe(Effect.provide(extractionTestLayer({
      database: engine.fresh,
      llm: modelWith((r) => (r.messages[0]!.content.includes("You update") ? updated : created)),
      extractors: "llm",
      workers: false,
      env: PROFILES_ON
    }))))

  it.effect("a burst of memcells is folded in one call; the later jobs find their memcell folded", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const jobs = yield* JobQueue
      const runner = yield* JobRunner
      for (const [session, messages] of [["berlin", berlin], ["cooking", cooking]] as const) {
        yield* memory.add(addRequest(session, messages))
        yield* memory.flush(keyOf(session))
      }
      // Both memcells' extraction first, then their two profile jobs.
      for (const job of yield* jobs.claim("test", 0, 60_000, 10)) yield* runner.run(job)
      yield* drain
      const calls = (yield* (yield* FakeLlm).calls).filter((c) => c.purpose === "profile")
      expect(calls).toHaveLength(1)
      expect(calls[0]!.messages[1]!.content).toContain("[2]")
      expect(yield* rows<{ status: string }>("SELECT status FROM extraction_jobs WHERE kind = 'profile'")).toEqual([
        { status: "done" },
        { status: "done" }
      ])
      expect(yield* rows("SELECT memcell_id FROM profile_memcells")).toHaveLength(2)
    }).pipe(Effect.provide(extractionTestLayer({ database: engine.fresh, llm: modelWith(() => created), extractors: "llm", workers: false, env: PROFILES_ON }))))

  it.effect("exactly once per memcell: a crashed fold is redone by the next owner, the stale one's write is dropped", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const jobs = yield* JobQueue
      const runner = yield* JobRunner
      yield* memory.add(addRequest("berlin", berlin))
      yield* memory.flush(keyOf("berlin"))
      // Extraction first: the transaction that finishes it queues the profile job.
      for (const job of yield* jobs.claim("test", 0, 60_000, 10)) yield* runner.run(job)
      const [queued] = yield* jobs.claim("crashed", 0, 1, 1)
      expect(queued?.kind).toBe("profile")

      // The first owner "crashes" (its lease lapses); another process claims the job and folds.
      const [retaken] = yield* jobs.claim("survivor", 10, 60_000, 1)
      expect(retaken?.job_id).toBe(queued!.job_id)
      yield* runner.run(retaken!)
      // The crashed owner wakes up and finishes its run: its result must not land.
      const stale = yield* Effect.either(runner.run(queued!))
      expect(stale._tag).toBe("Left")

      expect(yield* rows("SELECT memcell_id FROM profile_memcells")).toHaveLength(1)
      expect(yield* rows<{ version: number }>("SELECT version FROM profiles")).toEqual([{ version: 1 }])
      // The extraction re-running cannot queue the profile job again.
      const cell = (yield* memory.session(keyOf("berlin"))).memcells[0]!
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.withTransaction(jobs.enqueueTracks(["profile"], { ...cell, app_id: "default", project_id: "default", session_id: "berlin" }, 20)))
      expect(yield* rows<{ status: string }>("SELECT status FROM extraction_jobs WHERE kind = 'profile'")).toEqual([{ status: "done" }])
      expect(Option.isSome(Option.fromNullable((yield* getProfile("alice")).profiles[0]))).toBe(true)
    }).pipe(Effect.provide(extractionTestLayer({ database: engine.fresh, llm: modelWith(() => created), extractors: "llm", workers: false, env: PROFILES_ON }))))

  it.live("a malformed answer is asked again, then the job is dead-lettered; nothing is written", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      yield* memory.add(addRequest("berlin", berlin))
      yield* memory.flush(keyOf("berlin"))
      const jobs = yield* JobQueue
      for (let i = 0; i < 400; i++) {
        if ((yield* jobs.counts).dead > 0) break
        yield* Effect.sleep("50 millis")
      }
      const dead = yield* jobs.dead(10)
      expect(dead.map((j) => j.kind)).toEqual(["profile"])
      expect(dead[0]!.last_error).toContain("profile")
      const profileCalls = (yield* (yield* FakeLlm).calls).filter((c) => c.purpose === "profile")
      // Three asks per attempt, one attempt.
      expect(profileCalls).toHaveLength(3)
      expect(yield* rows("SELECT * FROM profiles")).toEqual([])
    }).pipe(Effect.provide(extractionTestLayer({
      database: engine.fresh,
      llm: modelWith(() => "not JSON at all"),
      extractors: "llm",
      env: { ...PROFILES_ON, ENGRAM_EXTRACTION_MAX_ATTEMPTS: "1", ENGRAM_EXTRACTION_POLL_INTERVAL: "50 millis" }
    }))))
}))
