import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { SearchRequest, type SearchRequestInput } from "../../src/Domain/SearchRequest.js"
import { Embedder } from "../../src/Llm/Embedder.js"
import { RRF_K } from "../../src/Search/Fusion.js"
import { Search, SEARCH_TUNING } from "../../src/Search/Search.js"
import { VectorStore } from "../../src/Indexing/VectorStore.js"
import { type CorpusCell, DAY, episodeIdIn, factIdIn, seedCorpus, T0 } from "../fixtures/searchCorpus.js"
import { embeddingIndexer, vectorSearchTestLayer } from "../support/SearchTestLayer.js"

/**
 * For query "lantern": keyword order is festival (lantern thrice), walk (once); vector order is
 * walk, lights, festival; walk's fact is the only fact (so first in the fact-vector list).
 * Fused: walk (2nd + 1st + 1st) > festival (1st + 3rd) > lights (2nd only).
 */
const cells = (user: string, prefix: string): ReadonlyArray<CorpusCell> => [
  {
    memcell_id: `${prefix}-festival`,
    session_id: "s-festival",
    timestamp: T0,
    sender_ids: [user],
    message_ids: [`${prefix}-f1`],
    episodes: [{ user_id: user, title: "Lantern festival", summary: "lantern lantern lantern", content: "A lantern parade." }]
  },
  {
    memcell_id: `${prefix}-walk`,
    session_id: "s-walk",
    timestamp: T0 + DAY,
    sender_ids: [user],
    message_ids: [`${prefix}-w1`, `${prefix}-w2`],
    episodes: [{ user_id: user, title: "Evening walk", summary: "A walk in the park.", content: "A walk with a lantern in the park." }],
    facts: [{ user_id: user, content: "They keep a glowing jar on the balcony.", message_ids: [`${prefix}-w2`] }]
  },
  {
    memcell_id: `${prefix}-lights`,
    session_id: "s-lights",
    timestamp: T0 + 2 * DAY,
    sender_ids: [user],
    message_ids: [`${prefix}-l1`],
    episodes: [{ user_id: user, title: "Night lights", summary: "Glowing paper.", content: "Paper lights floating on the river." }]
  }
]

/** Vectors keyed by what a text is about; anything else (the queries) points along the first axis. */
const keyedVector = (text: string) => {
  if (text.startsWith("Lantern festival")) return Float32Array.from([0, 1, 0, 0])
  if (text.startsWith("Evening walk")) return Float32Array.from([1, 0.1, 0, 0])
  if (text.startsWith("Night lights")) return Float32Array.from([1, 0.5, 0, 0])
  if (text.includes("glowing jar")) return Float32Array.from([0, 0, 1, 0])
  if (text === "jar") return Float32Array.from([0, 0, 1, 0.1])
  return Float32Array.from([1, 0, 0, 0])
}

const keyedEmbedder = Layer.succeed(Embedder, {
  model: "keyed",
  dimensions: 4,
  embed: (texts) => Effect.succeed(texts.map(keyedVector)),
  embedQuery: (query) => Effect.succeed(keyedVector(query))
})

const allCells = [...cells("vera", "v"), ...cells("walt", "w")]

/** Runs the embedding of every seeded memcell as the embed jobs would. */
const embedAll = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const indexer = yield* embeddingIndexer
  for (const cell of allCells) {
    for (const kind of ["embed_episodes", "embed_facts"] as const) {
      yield* sql.withTransaction(yield* indexer.prepareJob(kind, cell.memcell_id))
    }
  }
})

const seeded = Layer.effectDiscard(Effect.zipRight(seedCorpus(allCells), embedAll)).pipe(
  Layer.provideMerge(vectorSearchTestLayer(keyedEmbedder))
)

const search = (input: SearchRequestInput) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(SearchRequest)(input)), (request) => Effect.flatMap(Search, (s) => s.search(request)))
const ids = (result: { episodes: ReadonlyArray<{ id: string }> }) => result.episodes.map((e) => e.id)
const vera = (name: string) => episodeIdIn(`v-${name}`, "vera")

layer(seeded)("vector and hybrid search", (it) => {
  it.effect("stores one vector per episode and fact, under the owner's partition", () =>
    Effect.gen(function*() {
      expect(yield* (yield* VectorStore).count).toBe(allCells.length + 2)
    }))

  it.effect("keyword, vector and hybrid rank differently; hybrid is their reciprocal-rank fusion and the default", () =>
    Effect.gen(function*() {
      expect(ids(yield* search({ user_id: "vera", query: "lantern", method: "keyword" }))).toEqual([vera("festival"), vera("walk")])
      expect(ids(yield* search({ user_id: "vera", query: "lantern", method: "vector" }))).toEqual([
        vera("walk"),
        vera("lights"),
        vera("festival")
      ])
      const hybrid = yield* search({ user_id: "vera", query: "lantern" })
      expect(hybrid.method).toBe("hybrid")
      expect(ids(hybrid)).toEqual([vera("walk"), vera("festival"), vera("lights")])
      // Scores: weighted reciprocal ranks over the method's five lists (passages, episodes and facts
      // by keyword, episodes and facts by vector), scaled so 1 = first everywhere. The fixture
      // writes no messages, so the passage list is empty but still counts in the scale.
      const { episodeWeight: E, factWeight: F, passageWeight: P } = SEARCH_TUNING
      const scale = (P + 2 * E + 2 * F) / (RRF_K + 1)
      expect(hybrid.episodes.map((e) => e.score)).toEqual([
        expect.closeTo((E / (RRF_K + 2) + E / (RRF_K + 1) + F / (RRF_K + 1)) / scale, 12),
        expect.closeTo((E / (RRF_K + 1) + E / (RRF_K + 3)) / scale, 12),
        expect.closeTo(E / (RRF_K + 2) / scale, 12)
      ])
    }))

  it.effect("radius drops vector candidates below a cosine similarity", () =>
    Effect.gen(function*() {
      expect(ids(yield* search({ user_id: "vera", query: "lantern", method: "vector", radius: 0.9 }))).toEqual([vera("walk")])
      expect(ids(yield* search({ user_id: "vera", query: "lantern", method: "vector", radius: 0.85 }))).toEqual([
        vera("walk"),
        vera("lights")
      ])
    }))

  it.effect("a fact found by its vector brings its episode, with the fact nested and its provenance", () =>
    Effect.gen(function*() {
      const result = yield* search({ user_id: "vera", query: "jar", method: "vector", top_k: 1 })
      expect(ids(result)).toEqual([vera("walk")])
      expect(result.episodes[0]!.atomic_facts[0]).toEqual({
        id: factIdIn("v-walk", 0),
        content: "They keep a glowing jar on the balcony.",
        score: 1,
        message_ids: ["v-w2"]
      })
      expect(result.episodes[0]!.message_ids).toEqual(["v-w1", "v-w2"])
    }))

  it.effect("vector results are scoped to the owner and pass the filters", () =>
    Effect.gen(function*() {
      const walt = yield* search({ user_id: "walt", query: "lantern", method: "vector" })
      expect(walt.episodes.every((e) => e.user_id === "walt")).toBe(true)
      expect(walt.episodes).toHaveLength(3)
      expect(ids(yield* search({ user_id: "vera", query: "lantern", method: "hybrid", filters: { session_id: "s-lights" } }))).toEqual([
        vera("lights")
      ])
      expect(ids(yield* search({ user_id: "vera", query: "jar", method: "vector", filters: { session_id: "s-festival" } }))).toEqual([
        vera("festival")
      ])
      expect(ids(yield* search({ user_id: "vera", app_id: "other", query: "lantern", method: "vector" }))).toEqual([])
    }))

  it.effect("a deleted item is never returned, and its vector is purged by the next embedding write", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const vectors = yield* VectorStore
      const before = yield* vectors.count
      yield* sql`DELETE FROM episodes WHERE memcell_id = 'w-festival'`
      expect(ids(yield* search({ user_id: "walt", query: "lantern", method: "vector" }))).not.toContain(episodeIdIn("w-festival", "walt"))
      const indexer = yield* embeddingIndexer
      yield* sql.withTransaction(yield* indexer.prepareJob("embed_episodes", "w-walk"))
      expect(yield* vectors.count).toBe(before - 1)
      expect(yield* sql`SELECT * FROM vector_garbage`).toEqual([])
    }))
})
