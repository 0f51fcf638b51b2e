import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Either, Exit, Layer, Schema } from "effect"
import { GetRequest } from "../../src/Domain/GetRequest.js"
import type { Memcell } from "../../src/Domain/Memcell.js"
import { ScopeId } from "../../src/Domain/Message.js"
import { firstIssue } from "../../src/Domain/Validation.js"
import { ProfileBuilder } from "../../src/Profiles/ProfileBuilder.js"
import { MemoryReader } from "../../src/Reading/MemoryReader.js"
import { forEachEngine } from "../support/Engines.js"
import { DerivedRepo, episodeIdOf } from "../../src/Extraction/DerivedRepo.js"

const day = (date: string) => Date.parse(`${date}T00:00:00Z`)
const at = (date: string, hour: number) => Date.parse(`${date}T${String(hour).padStart(2, "0")}:00:00Z`)

interface Seed {
  readonly memcell_id: string
  readonly session_id: string
  readonly senders: ReadonlyArray<string>
  readonly timestamp: number
  /** Stored as created_at, to make sorting by it differ from sorting by timestamp. */
  readonly created_at: number
  readonly app_id?: string
  readonly users: ReadonlyArray<string>
  readonly facts?: ReadonlyArray<{ readonly user_id: string; readonly content: string }>
  readonly foresight?: ReadonlyArray<{ readonly user_id: string; readonly start: number; readonly end: number | null }>
}

/**
 * Five memcells of alice (and carol) in the default scope, one in app "shop". Timestamps increase
 * c1 < c2 < c3 < c4; created_at runs the other way round.
 */
const seeds: ReadonlyArray<Seed> = [
  {
    memcell_id: "c1",
    session_id: "s1",
    senders: ["alice", "assistant"],
    timestamp: at("2024-05-01", 10),
    created_at: 4000,
    users: ["alice"],
    facts: [{ user_id: "alice", content: "Alice lives in Lisbon." }, { user_id: "alice", content: "Alice likes hiking." }],
    foresight: [{ user_id: "alice", start: day("2024-05-10"), end: day("2024-05-12") }]
  },
  {
    memcell_id: "c2",
    session_id: "s2",
    senders: ["alice"],
    timestamp: at("2024-05-02", 10),
    created_at: 3000,
    users: ["alice"],
    facts: [{ user_id: "alice", content: "Alice has a dog." }],
    foresight: [{ user_id: "alice", start: day("2024-05-03"), end: null }]
  },
  {
    memcell_id: "c3",
    session_id: "s1",
    senders: ["alice", "carol"],
    timestamp: at("2024-05-03", 10),
    created_at: 2000,
    users: ["alice", "carol"],
    facts: [{ user_id: "alice", content: "Alice works remotely." }, { user_id: "carol", content: "Carol is a chef." }],
    foresight: [{ user_id: "carol", start: day("2024-06-01"), end: null }]
  },
  { memcell_id: "c4", session_id: "s3", senders: ["alice"], timestamp: at("2024-05-04", 10), created_at: 1000, users: ["alice"] },
  {
    memcell_id: "c5",
    app_id: "shop",
    session_id: "s1",
    senders: ["alice"],
    timestamp: at("2024-05-05", 10),
    created_at: 5000,
    users: ["alice"],
    facts: [{ user_id: "alice", content: "Alice bought shoes." }]
  }
]

const memcellOf = (seed: Seed): Memcell => ({
  memcell_id: seed.memcell_id,
  app_id: ScopeId.make(seed.app_id ?? "default"),
  project_id: ScopeId.make("default"),
  session_id: seed.session_id,
  message_ids: [`${seed.memcell_id}-m1`, `${seed.memcell_id}-m2`],
  sender_ids: seed.senders,
  timestamp: seed.timestamp,
  created_at: seed.created_at
})

/** Derived rows through DerivedRepo (as a job writes them), plus their memcell rows. */
const seed = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const derived = yield* DerivedRepo
  for (const s of seeds) {
    const cell = memcellOf(s)
    yield* sql`INSERT INTO memcells ${
      sql.insert({ ...cell, message_ids: JSON.stringify(cell.message_ids), sender_ids: JSON.stringify(cell.sender_ids) })
    }`
    yield* derived.replaceEpisodes(
      cell,
      s.users.map((user_id) => ({ user_id, title: `title ${s.memcell_id}`, content: `content ${s.memcell_id} ${user_id}`, summary: `summary ${s.memcell_id}` })),
      "test",
      s.created_at
    )
    yield* derived.replaceFacts(cell, (s.facts ?? []).map((f, i) => ({ ...f, message_ids: [`${s.memcell_id}-m${i + 1}`] })), "test", s.created_at)
    yield* derived.replaceForesight(
      cell,
      (s.foresight ?? []).map((f) => ({
        user_id: f.user_id,
        content: `plan of ${f.user_id} in ${s.memcell_id}`,
        start_time: f.start,
        end_time: f.end,
        evidence: "evidence",
        message_ids: [`${s.memcell_id}-m1`]
      })),
      "test",
      s.created_at
    )
  }
})

const testLayer = (database: Layer.Layer<SqlClient.SqlClient>) =>
  Layer.effectDiscard(seed).pipe(
    Layer.provideMerge(Layer.mergeAll(MemoryReader.Default, DerivedRepo.Default)),
    Layer.provideMerge(ProfileBuilder.Default),
    Layer.provideMerge(database),
    Layer.orDie
  )

const get = (input: Record<string, unknown>) =>
  Effect.flatMap(Schema.decodeUnknown(GetRequest)(input), (request) => Effect.flatMap(MemoryReader, (reader) => reader.get(request)))

const memcellsOf = (items: ReadonlyArray<{ memcell_id: string }>) => items.map((item) => item.memcell_id)

forEachEngine((engine) => layer(testLayer(engine.fresh))("MemoryReader", (it) => {
  describe("episodes", () => {
    it.effect("newest first by default, only the user's, with their own facts nested in extraction order", () =>
      Effect.gen(function*() {
        const result = yield* get({ user_id: "alice" })
        expect(memcellsOf(result.episodes)).toEqual(["c4", "c3", "c2", "c1"])
        expect(result).toMatchObject({ total_count: 4, count: 4, page: 1, page_size: 20 })
        expect(result.atomic_facts).toEqual([])
        expect(result.foresight).toEqual([])
        expect(result.profiles).toEqual([])
        expect(result.agent_cases).toEqual([])
        expect(result.agent_skills).toEqual([])

        const c1 = result.episodes[3]!
        expect(c1).toEqual({
          id: episodeIdOf("c1", "alice"),
          user_id: "alice",
          app_id: "default",
          project_id: "default",
          session_id: "s1",
          timestamp: at("2024-05-01", 10),
          sender_ids: ["alice", "assistant"],
          subject: "title c1",
          summary: "summary c1",
          episode: "content c1 alice",
          type: "episode",
          memcell_id: "c1",
          message_ids: ["c1-m1", "c1-m2"],
          atomic_facts: [
            { id: expect.any(String), content: "Alice lives in Lisbon.", message_ids: ["c1-m1"] },
            { id: expect.any(String), content: "Alice likes hiking.", message_ids: ["c1-m2"] }
          ]
        })
        // c3 also has carol's episode and fact: neither shows up under alice.
        expect(result.episodes[1]!.atomic_facts.map((f) => f.content)).toEqual(["Alice works remotely."])
        expect(result.episodes.every((e) => e.user_id === "alice")).toBe(true)
        expect(result.episodes[0]!.atomic_facts).toEqual([])
      }))

    it.effect("pages and sort orders", () =>
      Effect.gen(function*() {
        const first = yield* get({ user_id: "alice", page_size: 3 })
        const second = yield* get({ user_id: "alice", page_size: 3, page: 2 })
        const beyond = yield* get({ user_id: "alice", page_size: 3, page: 3 })
        expect(memcellsOf(first.episodes)).toEqual(["c4", "c3", "c2"])
        expect(memcellsOf(second.episodes)).toEqual(["c1"])
        expect(beyond.episodes).toEqual([])
        expect([first.count, second.count, beyond.count]).toEqual([3, 1, 0])
        expect([first.total_count, second.total_count, beyond.total_count]).toEqual([4, 4, 4])
        expect(second).toMatchObject({ page: 2, page_size: 3 })

        const ascending = yield* get({ user_id: "alice", sort_order: "asc" })
        expect(memcellsOf(ascending.episodes)).toEqual(["c1", "c2", "c3", "c4"])
        const byCreation = yield* get({ user_id: "alice", sort_by: "created_at", sort_order: "asc" })
        expect(memcellsOf(byCreation.episodes)).toEqual(["c4", "c3", "c2", "c1"])
      }))

    it.effect("filters on session, sender and timestamp (ISO or epoch), combined with AND / OR", () =>
      Effect.gen(function*() {
        const cases: Array<[Record<string, unknown>, ReadonlyArray<string>]> = [
          [{ session_id: "s1" }, ["c3", "c1"]],
          [{ session_id: { ne: "s1" } }, ["c4", "c2"]],
          [{ session_id: { in: ["s2", "s3"] } }, ["c4", "c2"]],
          [{ OR: [{ session_id: "s2" }, { session_id: "s3" }] }, ["c4", "c2"]],
          [{ sender_id: "carol" }, ["c3"]],
          [{ sender_id: { ne: "carol" } }, ["c4", "c2", "c1"]],
          [{ sender_id: { in: ["assistant", "carol"] } }, ["c3", "c1"]],
          [{ timestamp: { gte: "2024-05-02T00:00:00Z", lt: "2024-05-04T00:00:00Z" } }, ["c3", "c2"]],
          [{ timestamp: { lte: at("2024-05-02", 10) } }, ["c2", "c1"]],
          [{ AND: [{ timestamp: { gte: "2024-05-02T00:00:00Z" } }, { OR: [{ session_id: "s1" }, { sender_id: "nobody" }] }] }, ["c3"]],
          [{ session_id: "s1", OR: [{ timestamp: { lt: "2024-05-02T00:00:00Z" } }, { timestamp: { gt: "2024-05-03T00:00:00Z" } }] }, ["c3", "c1"]],
          [{ session_id: "nowhere" }, []]
        ]
        for (const [filters, expected] of cases) {
          const result = yield* get({ user_id: "alice", filters })
          expect({ filters, memcells: memcellsOf(result.episodes) }).toEqual({ filters, memcells: expected })
          expect(result.total_count).toBe(expected.length)
        }
      }))

    it.effect("are scoped by app and project", () =>
      Effect.gen(function*() {
        const shop = yield* get({ user_id: "alice", app_id: "shop" })
        expect(memcellsOf(shop.episodes)).toEqual(["c5"])
        expect(shop.episodes[0]!.atomic_facts.map((f) => f.content)).toEqual(["Alice bought shoes."])
        const otherProject = yield* get({ user_id: "alice", app_id: "shop", project_id: "eu" })
        expect(otherProject.total_count).toBe(0)
        const carol = yield* get({ user_id: "carol" })
        expect(memcellsOf(carol.episodes)).toEqual(["c3"])
        expect(carol.episodes[0]!.atomic_facts.map((f) => f.content)).toEqual(["Carol is a chef."])
      }))
  })

  describe("atomic facts", () => {
    it.effect("list the user's facts with provenance; sender filters read the source memcell", () =>
      Effect.gen(function*() {
        const result = yield* get({ user_id: "alice", memory_type: "atomic_fact", sort_order: "asc" })
        expect(result.episodes).toEqual([])
        expect(result.atomic_facts.map((f) => f.content).sort()).toEqual(
          ["Alice has a dog.", "Alice likes hiking.", "Alice lives in Lisbon.", "Alice works remotely."]
        )
        expect(memcellsOf(result.atomic_facts)).toEqual(["c1", "c1", "c2", "c3"])
        expect(result.total_count).toBe(4)
        expect(Object.keys(result.atomic_facts[0]!).sort()).toEqual(
          ["content", "episode_id", "id", "memcell_id", "message_ids", "session_id", "timestamp", "user_id"]
        )
        expect(result.atomic_facts[2]).toMatchObject({
          user_id: "alice",
          session_id: "s2",
          timestamp: at("2024-05-02", 10),
          content: "Alice has a dog.",
          episode_id: episodeIdOf("c2", "alice"),
          memcell_id: "c2",
          message_ids: ["c2-m1"]
        })
        const withCarol = yield* get({ user_id: "alice", memory_type: "atomic_fact", filters: { sender_id: "carol" } })
        expect(withCarol.atomic_facts.map((f) => f.content)).toEqual(["Alice works remotely."])
        const paged = yield* get({ user_id: "alice", memory_type: "atomic_fact", page_size: 1, page: 2 })
        expect(paged).toMatchObject({ count: 1, total_count: 4 })
        expect(paged.atomic_facts.map((f) => f.memcell_id)).toEqual(["c2"])
      }))
  })

  describe("foresight", () => {
    it.effect("valid_at keeps items whose [start_time, end_time] contains it; a null end is open", () =>
      Effect.gen(function*() {
        const all = yield* get({ user_id: "alice", memory_type: "foresight" })
        expect(memcellsOf(all.foresight)).toEqual(["c2", "c1"])
        expect(all.foresight[1]).toEqual({
          id: expect.any(String),
          user_id: "alice",
          session_id: "s1",
          content: "plan of alice in c1",
          start_time: day("2024-05-10"),
          end_time: day("2024-05-12"),
          evidence: "evidence",
          memcell_id: "c1",
          message_ids: ["c1-m1"]
        })
        const cases: Array<[string | number, ReadonlyArray<string>]> = [
          ["2024-05-02T00:00:00Z", []],
          ["2024-05-03T00:00:00Z", ["c2"]],
          ["2024-05-11T00:00:00Z", ["c2", "c1"]],
          [day("2024-05-12"), ["c2", "c1"]],
          ["2024-05-12T00:00:00.001Z", ["c2"]],
          ["2030-01-01", ["c2"]]
        ]
        for (const [valid_at, expected] of cases) {
          const result = yield* get({ user_id: "alice", memory_type: "foresight", valid_at })
          expect({ valid_at, memcells: memcellsOf(result.foresight) }).toEqual({ valid_at, memcells: expected })
          expect(result.total_count).toBe(expected.length)
        }
        const filtered = yield* get({ user_id: "alice", memory_type: "foresight", valid_at: "2024-05-11T00:00:00Z", filters: { session_id: "s1" } })
        expect(memcellsOf(filtered.foresight)).toEqual(["c1"])
        const carol = yield* get({ user_id: "carol", memory_type: "foresight", valid_at: "2024-07-01T00:00:00Z" })
        expect(carol.foresight.map((f) => f.content)).toEqual(["plan of carol in c3"])
      }))
  })

  describe("what Engram does not build", () => {
    it.effect("agent_id with a user's memory type, and the agent types with user_id, fail with CapabilityUnavailable", () =>
      Effect.gen(function*() {
        for (const input of [
          { agent_id: "bot" },
          { user_id: "alice", memory_type: "agent_case" },
          { user_id: "alice", memory_type: "agent_skill" }
        ]) {
          const exit = yield* Effect.exit(get(input))
          expect(Exit.isFailure(exit)).toBe(true)
          if (Exit.isFailure(exit)) expect(exit.cause).toMatchObject({ _tag: "Fail", error: { _tag: "CapabilityUnavailable" } })
        }
      }))
  })
}))

describe("GetRequest", () => {
  const decode = Schema.decodeUnknownEither(GetRequest)
  it("applies the documented defaults", () => {
    expect(Either.getOrThrow(decode({ user_id: "alice" }))).toEqual({
      user_id: "alice",
      app_id: "default",
      project_id: "default",
      memory_type: "episode",
      page: 1,
      page_size: 20,
      sort_by: "timestamp",
      sort_order: "desc"
    })
  })
  it("refuses bad requests, naming the field", () => {
    const cases: Array<[unknown, string]> = [
      [{}, "user_id"],
      [{ user_id: "alice", agent_id: "bot" }, "agent_id"],
      [{ user_id: "alice", colour: "blue" }, "colour"],
      [{ user_id: "alice", filters: { sesion_id: "typo" } }, "filters.sesion_id"],
      [{ user_id: "alice", valid_at: "2024-05-01T00:00:00Z" }, "valid_at"],
      [{ user_id: "alice", memory_type: "foresight", valid_at: "soon" }, "valid_at"],
      [{ user_id: "alice", page: 0 }, "page"],
      [{ user_id: "alice", page_size: 101 }, "page_size"],
      [{ user_id: "alice", page_size: 2.5 }, "page_size"],
      [{ user_id: "alice", sort_by: "score" }, "sort_by"],
      [{ user_id: "alice", memory_type: "episodes" }, "memory_type"],
      [{ user_id: "a b" }, "user_id"],
      [{ user_id: "alice", app_id: "Shop" }, "app_id"]
    ]
    for (const [input, path] of cases) {
      const result = decode(input)
      expect({ input, failed: Either.isLeft(result) }).toEqual({ input, failed: true })
      if (Either.isLeft(result)) expect({ input, path: firstIssue(result.left).path }).toEqual({ input, path })
    }
  })
})
