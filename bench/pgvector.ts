/**
 * The pgvector store's two search paths on one owner of `size` items: exact (a scan of the
 * owner's rows) against HNSW with iterative scan (what owners above EXACT_SCAN_LIMIT get):
 * latency p50/p95 of `nearest` for k = 10; how often each finds the planted neighbour first (each
 * query is a stored item's text with 4 of its 12 words replaced); HNSW's recall@10 against exact.
 * Database: PGlite with pgvector (Postgres 18 in WebAssembly, in this process, one session) over
 * its socket server, as in the tests: it shows recall and the relative cost of the two paths, not
 * what a native Postgres server on real hardware would do. Vectors: hashed bag-of-words
 * (FakeEmbedder) of texts drawn from a 2000-word vocabulary, `dimensions` wide.
 * Run: npx tsx bench/pgvector.ts [size=20000] [queries=200] [dimensions=384]
 * Prints one JSON line. Not a test: run by hand.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { PgVectorStore } from "../src/Indexing/PgVectorStore.js"
import { vectorOwner, VectorStore } from "../src/Indexing/VectorStore.js"
import { fakeEmbedding } from "../test/support/FakeEmbedder.js"
import { pgliteDatabaseAt, pgliteServer } from "../test/support/PgliteServer.js"
import { seededRandom } from "../test/support/SeededRandom.js"

const size = Number(process.argv[2] ?? 20000)
const queryCount = Number(process.argv[3] ?? 200)
const dimensions = Number(process.argv[4] ?? 384)
const K = 10
const BATCH = 500

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

const program = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const store = yield* VectorStore
  const random = seededRandom(42)
  const vocabulary = Array.from({ length: 2000 }, (_, i) => `w${i.toString(36)}`)
  const word = () => vocabulary[Math.floor(random() * vocabulary.length)]!
  const words = () => Array.from({ length: 12 }, word)
  const texts: Array<ReadonlyArray<string>> = []
  const keys: Array<number> = []
  yield* store.prepare({ model: "fake", dimensions })
  const owner = vectorOwner("bench", "default", "alice", "episode")
  const loadStart = performance.now()
  for (let start = 0; start < size; start += BATCH) {
    yield* sql.withTransaction(Effect.gen(function*() {
      const entries = []
      for (let i = start; i < Math.min(size, start + BATCH); i++) {
        const [row] = yield* sql<{ item_key: number }>`
          INSERT INTO search_items (item_id, kind, has_cjk) VALUES (${`bench#${i}`}, 'episode', 0) RETURNING item_key`
        const itemWords = words()
        texts.push(itemWords)
        keys.push(row!.item_key)
        entries.push({ item_key: row!.item_key, owner, vector: fakeEmbedding(itemWords.join(" "), dimensions) })
      }
      yield* store.replace(entries, dimensions)
    }))
  }
  const loadSeconds = (performance.now() - loadStart) / 1000
  const exactTimes: Array<number> = []
  const hnswTimes: Array<number> = []
  let found = 0
  let exactFirst = 0
  let hnswFirst = 0
  for (let q = 0; q < queryCount; q++) {
    const planted = Math.floor(random() * size)
    const queryWords = texts[planted]!.map((w, i) => (i % 3 === 0 ? word() : w))
    const query = fakeEmbedding(queryWords.join(" "), dimensions)
    let t = performance.now()
    const exact = yield* store.nearest(owner, query, K, dimensions, size)
    exactTimes.push(performance.now() - t)
    t = performance.now()
    const approximate = yield* store.nearest(owner, query, K, dimensions, 0)
    hnswTimes.push(performance.now() - t)
    if (exact[0]?.item_key === keys[planted]) exactFirst++
    if (approximate[0]?.item_key === keys[planted]) hnswFirst++
    const truth = new Set(exact.map((n) => n.item_key))
    found += approximate.filter((n) => truth.has(n.item_key)).length
  }
  exactTimes.sort((a, b) => a - b)
  hnswTimes.sort((a, b) => a - b)
  const ms = (x: number) => Math.round(x * 10) / 10
  console.log(JSON.stringify({
    database: "PGlite 0.5.14 + pgvector (WebAssembly, one session)",
    size,
    dimensions,
    queries: queryCount,
    k: K,
    load_items_per_s: Math.round(size / loadSeconds),
    exact_ms: { p50: ms(percentile(exactTimes, 0.5)), p95: ms(percentile(exactTimes, 0.95)) },
    hnsw_ms: { p50: ms(percentile(hnswTimes, 0.5)), p95: ms(percentile(hnswTimes, 0.95)) },
    planted_first: { exact: exactFirst / queryCount, hnsw: hnswFirst / queryCount },
    hnsw_recall_at_10: Math.round((found / (queryCount * K)) * 1000) / 1000
  }))
})

Effect.gen(function*() {
  const { url } = yield* pgliteServer
  yield* program.pipe(Effect.provide(PgVectorStore.pipe(Layer.provideMerge(pgliteDatabaseAt(url)))))
}).pipe(Effect.scoped, Effect.orDie, Effect.runPromise)
