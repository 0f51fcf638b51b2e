import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { SearchRequest, type SearchRequestInput } from "../../src/Domain/SearchRequest.js"
import { RRF_K } from "../../src/Search/Fusion.js"
import { Search, SEARCH_TUNING } from "../../src/Search/Search.js"
import { VectorStore } from "../../src/Indexing/VectorStore.js"
import { episodeIdIn, factIdIn, seedCorpus } from "../fixtures/searchCorpus.js"
import { allCells, embedAll, keyedEmbedder } from "../fixtures/vectorCorpus.js"
import * as Database from "../../src/Storage/Database.js"
import { pgliteDatabase } from "../support/PgliteServer.js"
import { embeddingIndexer, vectorSearchTestLayer } from "../support/SearchTestLayer.js"

/**
 * The same contract on both vector stores: sqlite-vec on SQLite, and pgvector on a real Postgres
 * (PGlite with pgvector, served over the wire protocol; see test/support/PgliteServer.ts).
 */
const stores: ReadonlyArray<{ readonly name: string; readonly database: Layer.Layer<SqlClient.SqlClient> }> = [
  { name: "sqlite (sqlite-vec)", database: Database.layerMemory },
  { name: "postgres (pgvector on PGlite)", database: pgliteDatabase }
]

const seeded = (database: Layer.Layer<SqlClient.SqlClient>) =>
  Layer.effectDiscard(Effect.zipRight(seedCorpus(allCells), embedAll)).pipe(
    Layer.provideMerge(vectorSearchTestLayer(keyedEmbedder, { database }))
  )

const search = (input: SearchRequestInput) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(SearchRequest)(input)), (request) => Effect.flatMap(Search, (s) => s.search(request)))
const ids = (result: { episodes: ReadonlyArray<{ id: string }> }) => result.episodes.map((e) => e.id)
const vera = (name: string) => episodeIdIn(`v-${name}`, "vera")

for (const store of stores) {
  layer(seeded(store.database), { timeout: "120 seconds" })(`vector and hybrid search: ${store.name}`, (it) => {
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
}
