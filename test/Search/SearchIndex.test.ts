import { Migrator, SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { SearchRequest, type SearchRequestInput } from "../../src/Domain/SearchRequest.js"
import { Search } from "../../src/Search/Search.js"
import { DerivedRepo } from "../../src/Extraction/DerivedRepo.js"
import { runMigrations } from "../../src/Storage/Migrations.js"
import ledger from "../../src/Storage/migrations/0001_ledger.js"
import extraction from "../../src/Storage/migrations/0002_extraction.js"
import { SearchRepo } from "../../src/Search/SearchRepo.js"
import { corpus, episodeIdIn, memcellOf, seedCorpus } from "../fixtures/searchCorpus.js"
import { keywordSearchTestLayer } from "../support/SearchTestLayer.js"

const food = corpus.find((c) => c.memcell_id === "mc-food")!
const foodCell = memcellOf(food)

const search = (input: SearchRequestInput) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(SearchRequest)(input)), (request) => Effect.flatMap(Search, (s) => s.search(request)))
const foundIds = (query: string) => Effect.map(search({ user_id: "alice", query }), (r) => r.episodes.map((e) => e.id))

const count = (query: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<{ n: number }>(query)).pipe(Effect.map((rows) => rows[0]!.n))
/** Index entries matching `term` in the English episode index, whoever they belong to. */
const ftsMatches = (term: string) => count(`SELECT COUNT(*) AS n FROM episodes_fts WHERE episodes_fts MATCH '"${term}"'`)

const withCorpus = <A, E, R>(test: Effect.Effect<A, E, R>) =>
  Effect.zipRight(seedCorpus([food]), test).pipe(Effect.provide(keywordSearchTestLayer()))

describe("search index triggers", () => {
  it.effect("re-running an extraction (delete + insert) re-indexes: old words gone, new words found, one entry per item", () =>
    withCorpus(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const derived = yield* DerivedRepo
      expect(yield* foundIds("saffron")).toEqual([episodeIdIn("mc-food")])
      const sushi = { ...food.episodes[0]!, summary: "Sushi night.", content: "Alice made sushi with wasabi." }
      yield* sql.withTransaction(derived.replaceEpisodes(foodCell, [sushi], "x", 1))
      expect(yield* foundIds("saffron")).toEqual([])
      expect(yield* foundIds("wasabi")).toEqual([episodeIdIn("mc-food")])
      expect(yield* ftsMatches("saffron")).toBe(0)
      expect(yield* count(`SELECT COUNT(*) AS n FROM search_items WHERE item_id = '${episodeIdIn("mc-food")}'`)).toBe(1)
      // The replaced version's key is queued for vector purging.
      expect(yield* count("SELECT COUNT(*) AS n FROM vector_garbage")).toBe(1)
    })))

  it.effect("deleting rows (as a delete does) removes them from every index and queues their vectors for purging", () =>
    withCorpus(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const keys = yield* count("SELECT COUNT(*) AS n FROM search_items")
      expect(keys).toBe(2)
      yield* sql.withTransaction(Effect.zipRight(
        sql`DELETE FROM atomic_facts WHERE memcell_id = 'mc-food'`,
        sql`DELETE FROM episodes WHERE memcell_id = 'mc-food'`
      ))
      expect(yield* foundIds("paella")).toEqual([])
      expect(yield* ftsMatches("paella")).toBe(0)
      expect(yield* count("SELECT COUNT(*) AS n FROM facts_fts WHERE facts_fts MATCH '\"paella\"'")).toBe(0)
      expect(yield* count("SELECT COUNT(*) AS n FROM search_items")).toBe(0)
      expect(yield* count("SELECT COUNT(*) AS n FROM vector_garbage")).toBe(keys)
    })))

  it.effect("an UPDATE of the text re-indexes the row; INSERT OR REPLACE stays consistent", () =>
    withCorpus(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE episodes SET title = 'Gazpacho evening' WHERE memcell_id = 'mc-food'`
      expect(yield* foundIds("gazpacho")).toEqual([episodeIdIn("mc-food")])
      yield* sql`UPDATE episodes SET summary = 'nothing', content = 'nothing' WHERE memcell_id = 'mc-food'`
      expect(yield* foundIds("saffron")).toEqual([])
      yield* sql`
        INSERT OR REPLACE INTO episodes (episode_id, memcell_id, app_id, project_id, session_id, user_id, title, content, summary,
          sender_ids, message_ids, timestamp, created_at, extractor)
        SELECT episode_id, memcell_id, app_id, project_id, session_id, user_id, 'Tapas night', 'olives', 'olives', sender_ids,
          message_ids, timestamp, created_at, extractor FROM episodes WHERE memcell_id = 'mc-food'`
      expect(yield* foundIds("tapas")).toEqual([episodeIdIn("mc-food")])
      expect(yield* foundIds("gazpacho")).toEqual([])
      expect(yield* count("SELECT COUNT(*) AS n FROM search_items WHERE kind = 'episode'")).toBe(1)
      expect(yield* count("SELECT COUNT(*) AS n FROM episodes_fts WHERE episodes_fts MATCH '\"olives\"'")).toBe(1)
    })))

  it.effect("a rolled-back write leaves the index as it was (the index changes in the writer's transaction)", () =>
    withCorpus(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const derived = yield* DerivedRepo
      const failed = yield* Effect.exit(sql.withTransaction(Effect.zipRight(
        derived.replaceEpisodes(foodCell, [{ ...food.episodes[0]!, content: "Alice made sushi with wasabi." }], "x", 1),
        Effect.fail("boom")
      )))
      expect(failed._tag).toBe("Failure")
      expect(yield* foundIds("saffron")).toEqual([episodeIdIn("mc-food")])
      expect(yield* foundIds("wasabi")).toEqual([])
    })))

  it.effect("the migration indexes rows written before it existed", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* Migrator.make({})({
        loader: Migrator.fromRecord({ "0001_ledger": ledger, "0002_extraction": extraction }),
        table: "engram_migrations"
      })
      yield* sql`
        INSERT INTO episodes (episode_id, memcell_id, app_id, project_id, session_id, user_id, title, content, summary, sender_ids,
          message_ids, timestamp, created_at, extractor)
        VALUES ('ep-old', 'mc-old', 'default', 'default', 's', 'alice', 'Old times', '以前去过北京旅行', 'Alice remembered skiing.', '[]', '[]', 1, 1, 'x')`
      yield* runMigrations
      const repo = yield* SearchRepo
      const scope = { app_id: "default", project_id: "default", owner: "alice" }
      const english = yield* repo.keywordHits({ kind: "episode", index: "porter", tokens: ["ski"], narrowToOwner: false, candidates: { _tag: "all" }, limit: 10 }, scope, undefined)
      const cjk = yield* repo.keywordHits({ kind: "episode", index: "cjk", tokens: ["北京旅"], narrowToOwner: false, candidates: { _tag: "all" }, limit: 10 }, scope, undefined)
      expect(english.map((h) => h.id)).toEqual(["ep-old"])
      expect(cjk.map((h) => h.id)).toEqual(["ep-old"])
    }).pipe(Effect.provide(SearchRepo.Default.pipe(Layer.provideMerge(SqliteClient.layer({ filename: ":memory:" }))))))
})
