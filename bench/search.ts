/**
 * Search latency (p50/p95) of keyword and hybrid search at growing corpus sizes, on a file
 * database: one user owning every episode (the worst case for a per-user search), a synthetic
 * Zipf-distributed vocabulary, `facts` atomic facts per episode, three messages per memcell (so
 * passages, and their window vectors, as the extraction writes them), 512-d vectors:
 *   vectors=synthetic  hashed bag-of-words vectors (FakeEmbedder), written directly: fast to build;
 *   vectors=local      the default embedder (the local model in its worker thread), computed the
 *                      way the `embed_*` jobs do (EmbeddingIndexer.prepareJob per memcell, 4 at
 *                      once as ENGRAM_EXTRACTION_CONCURRENCY): reports their throughput (items/s).
 * Hybrid search is timed twice, on queries never seen before: `hybrid`, the search itself (the
 * query is embedded just before, timed apart as `query_embedding`, and the timed search takes its
 * vector from the query cache); and `hybrid_end_to_end`, what a user waits for: the search
 * embedding its own query (the keyword side runs meanwhile) and searching. The local model embeds
 * every query in both modes (synthetic mode then searches with the query's hashed vector, the
 * kind stored, but pays the model's time where a real query pays it). Keyword search is also
 * measured with `max_tokens: 1000` (the packed context). Times are wall clock; `cpu` is the
 * process's CPU over the same call, all threads (model, vector reader) included.
 * Run: npx tsx bench/search.ts [sizes=10000,100000] [facts=2] [queries=300] [dir|-] [vectors=synthetic]
 * Prints one JSON line per size. With `dir`, the database is kept, and a later run on it only
 * adds what is missing (sizes below what it holds are skipped). Not a test: run by hand.
 */
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Memcell } from "../src/Domain/Memcell.js"
import { ScopeId, type StoredMessage } from "../src/Domain/Message.js"
import { type SearchMethod, SearchRequest } from "../src/Domain/SearchRequest.js"
import { Schema } from "effect"
import { Embedder } from "../src/Llm/Embedder.js"
import { fakeEmbedding } from "../test/support/FakeEmbedder.js"
import { LOCAL_DIMENSIONS, LocalEmbedder, makeLocalEmbedder } from "../src/Llm/LocalEmbedder.js"
import { cachedQueries } from "../src/Llm/QueryCache.js"
import { EmbeddingIndexer } from "../src/Indexing/EmbeddingIndexer.js"
import { Search } from "../src/Search/Search.js"
import * as Database from "../src/Storage/Database.js"
import { DerivedRepo } from "../src/Extraction/DerivedRepo.js"
import { LedgerRepo } from "../src/Ledger/LedgerRepo.js"
import { MemcellRepo } from "../src/Memorize/MemcellRepo.js"
import { ProfileBuilder } from "../src/Profiles/ProfileBuilder.js"
import { TrackSearch } from "../src/Search/TrackSearch.js"
import { SearchRepo } from "../src/Search/SearchRepo.js"
import { Lexicon } from "../src/Text/Lexicon.js"
import { TokenCounter } from "../src/Text/TokenCounter.js"
import { PassageVectors } from "../src/Indexing/PassageVectors.js"
import { SqliteVectorStore } from "../src/Indexing/SqliteVectorStore.js"
import { vectorOwner, VectorStore } from "../src/Indexing/VectorStore.js"

const sizes = (process.argv[2] ?? "10000,100000").split(",").map(Number)
const factsPerEpisode = Number(process.argv[3] ?? 2)
const queryCount = Number(process.argv[4] ?? 300)
/** `-` (or nothing): a temporary directory, removed at the end. */
const keptDir = process.argv[5] !== undefined && process.argv[5] !== "-" ? process.argv[5] : undefined
const dir = keptDir ?? Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-search-bench-"))
const vectorsFrom = process.argv[6] ?? "synthetic"
if (vectorsFrom !== "synthetic" && vectorsFrom !== "local") throw new Error("vectors must be synthetic or local")
const DIMENSIONS = LOCAL_DIMENSIONS
/** The model name synthetic vectors are recorded under (FakeEmbedder's). */
const FAKE_MODEL = "fake-embedder"
/** As ENGRAM_EXTRACTION_CONCURRENCY's default: embedding jobs running at once. */
const JOB_CONCURRENCY = 4
const USER = "alice"
const WRITE_BATCH = 500

/** Deterministic pseudo-random numbers (mulberry32), so runs are comparable. */
const random = (() => {
  let seed = 42
  return () => {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
})()

/** 8000 pronounceable words; word i is drawn with probability ∝ 1/(i+1) (Zipf), as in real text. */
const syllables = ["ka", "lo", "mi", "ren", "tu", "sa", "vel", "do", "qui", "bar", "nes", "tor", "li", "fa", "gem", "pu"]
const vocabulary = Array.from({ length: 8000 }, (_, i) => {
  let word = ""
  for (let n = i + 17; n > 0; n = Math.floor(n / syllables.length)) word += syllables[n % syllables.length]
  return word
})
const cumulative = (() => {
  const weights = vocabulary.map((_, i) => 1 / (i + 1))
  const total = weights.reduce((a, b) => a + b, 0)
  let sum = 0
  return weights.map((w) => (sum += w / total))
})()
const word = () => {
  const r = random()
  let lo = 0
  let hi = cumulative.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (cumulative[mid]! < r) lo = mid + 1
    else hi = mid
  }
  return vocabulary[lo]!
}
const words = (n: number) => Array.from({ length: n }, word).join(" ")

const cellOf = (i: number): Memcell => ({
  memcell_id: `mc-${i}`,
  app_id: ScopeId.make("default"),
  project_id: ScopeId.make("default"),
  session_id: `s-${Math.floor(i / 20)}`,
  message_ids: [`m-${i}-0`, `m-${i}-1`, `m-${i}-2`],
  sender_ids: [USER, "assistant"],
  timestamp: 1_700_000_000_000 + i * 60_000,
  created_at: 1_700_000_000_000 + i * 60_000
})

/** The cell's three messages (40 words each), so every episode has passages to rank and show. */
const messagesOf = (cell: Memcell): ReadonlyArray<StoredMessage> =>
  cell.message_ids.map((message_id, seq) => ({
    seq,
    message_id,
    app_id: cell.app_id,
    project_id: cell.project_id,
    session_id: cell.session_id,
    sender_id: seq % 2 === 0 ? USER : "assistant",
    sender_name: null,
    role: seq % 2 === 0 ? "user" : "assistant",
    timestamp: cell.timestamp - (2 - seq) * 1000,
    content: words(40),
    tool_calls: null,
    tool_call_id: null,
    token_count: 50,
    memcell_id: cell.memcell_id
  }))

/** Writes episodes `from..to-1` (with their facts and passages) through DerivedRepo, so the search triggers run, then their vectors. */
const grow = (from: number, to: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const derived = yield* DerivedRepo
    const vectors = yield* VectorStore
    const indexer = yield* EmbeddingIndexer
    const passageVectors = yield* PassageVectors
    const ledger = yield* LedgerRepo
    const memcells = yield* MemcellRepo
    let embedded = 0
    let embedSeconds = 0
    let embedCpuSeconds = 0
    for (let start = from; start < to; start += WRITE_BATCH) {
      const end = Math.min(to, start + WRITE_BATCH)
      const texts = new Map<string, string>()
      yield* sql.withTransaction(Effect.gen(function*() {
        for (let i = start; i < end; i++) {
          const cell = cellOf(i)
          const episode = { user_id: USER, title: words(4), summary: words(25), content: words(120) }
          const facts = Array.from({ length: factsPerEpisode }, (_, f) => ({ user_id: USER, content: words(12), message_ids: [`m-${i}-${f}`] }))
          // The ledger's rows too, as memorize leaves them: search reads them (the messages just
          // across a memcell boundary), so an empty ledger would time less than a real search does.
          yield* ledger.importMessages(messagesOf(cell).map(({ seq: _, ...m }) => ({ ...m, fingerprint: `f-${m.message_id}`, received_at: cell.created_at, boundary_seen: 0 as const })))
          yield* memcells.importMemcells([{ ...cell, pending_jobs: [] }])
          yield* derived.replaceEpisodes(cell, [episode], "bench", cell.created_at, messagesOf(cell))
          yield* derived.replaceFacts(cell, facts, "bench", cell.created_at)
          texts.set(`mc-${i}`, `${episode.title}\n${episode.summary}\n${episode.content}`)
          facts.forEach((fact, f) => texts.set(`mc-${i}#${f}`, fact.content))
        }
      }))
      const cells = Array.from({ length: end - start }, (_, k) => `mc-${start + k}`)
      if (vectorsFrom === "local") {
        // What the embedding jobs do: embed outside any transaction, then write in one.
        const began = performance.now()
        const cpuBefore = cpuMs()
        const jobs = cells.flatMap((id) => [["embed_episodes", id] as const, ...(factsPerEpisode > 0 ? [["embed_facts", id] as const] : [])])
        const writes = yield* Effect.forEach(jobs, ([kind, id]) => indexer.prepareJob(kind, id), { concurrency: JOB_CONCURRENCY })
        embedSeconds += (performance.now() - began) / 1000
        embedCpuSeconds += (cpuMs() - cpuBefore) / 1000
        // Episodes, facts and the passage windows the episode jobs embed with them.
        embedded += texts.size + (end - start) * 3
        yield* sql.withTransaction(Effect.all(writes, { discard: true }))
      } else {
        const keys = yield* sql<{ item_key: number; memcell_id: string; kind: string; fact_id: string | null }>`
          SELECT s.item_key, COALESCE(e.memcell_id, f.memcell_id) AS memcell_id, s.kind, f.fact_id
          FROM search_items s LEFT JOIN episodes e ON e.episode_id = s.item_id LEFT JOIN atomic_facts f ON f.fact_id = s.item_id
          WHERE COALESCE(e.memcell_id, f.memcell_id) IN ${sql.in(cells)}`
        const factIndex = new Map<string, number>()
        const entries = keys.map((row) => {
          const n = row.kind === "fact" ? (factIndex.get(row.memcell_id) ?? 0) : 0
          if (row.kind === "fact") factIndex.set(row.memcell_id, n + 1)
          const text = texts.get(row.kind === "episode" ? row.memcell_id : `${row.memcell_id}#${n}`) ?? ""
          const owner = vectorOwner("default", "default", USER, row.kind as "episode" | "fact")
          return { item_key: row.item_key, owner, vector: fakeEmbedding(text, DIMENSIONS) }
        })
        const windows = (yield* Effect.forEach(cells, (id) => passageVectors.windowsOf(id))).flat()
        yield* sql.withTransaction(Effect.zipRight(
          vectors.replace(entries, DIMENSIONS),
          passageVectors.replace(windows.map((w) => ({ passage_key: w.passage_key, vector: fakeEmbedding(w.text, DIMENSIONS) })))
        ))
      }
      if ((end - from) % 10_000 === 0 || end === to || vectorsFrom === "local") {
        const rate = embedSeconds > 0 ? `, ${(embedded / embedSeconds).toFixed(1)} items/s embedded` : ""
        process.stderr.write(`  ${end} episodes written${rate}\n`)
      }
    }
    return embedSeconds > 0
      ? {
        items: embedded,
        seconds: Number(embedSeconds.toFixed(1)),
        items_per_s: Number((embedded / embedSeconds).toFixed(1)),
        // Per CPU second (both threads): what a dedicated core would do, whatever the load.
        items_per_cpu_s: Number((embedded / embedCpuSeconds).toFixed(1))
      }
      : null
  })

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

/** CPU time of the whole process (main and worker threads), ms: the figure load on the machine does not inflate. */
const cpuMs = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

const summary = (times: Array<number>) => {
  times.sort((a, b) => a - b)
  return {
    p50_ms: Number(percentile(times, 0.5).toFixed(2)),
    p95_ms: Number(percentile(times, 0.95).toFixed(2)),
    max_ms: Number(times.at(-1)!.toFixed(2))
  }
}

/** Warm-up before timing: this many searches, and for hybrid at least `WARM_UP_MS` (the vector reader thread starts at the first vector read). */
const WARM_UP_QUERIES = 30
const WARM_UP_MS = 5000

/**
 * Latencies of `queryCount` searches (after a warm-up) with 2-5 words each, mixed common and
 * rare, never repeated. `embedded`: each hybrid query's vector is made just before its timed
 * search (timed apart as `query_embedding`, the local model's first call for that text; the
 * search then takes the vector from the query cache), so the time is the search itself; else the
 * search embeds its query itself (what a user waits for: embedding and search, end to end).
 */
const measure = (method: SearchMethod, options: { readonly maxTokens?: number; readonly embedded?: boolean } = {}) =>
  Effect.gen(function*() {
    const search = yield* Search
    const embedder = yield* Embedder
    const preEmbed = method === "hybrid" && options.embedded !== false
    const request = () =>
      Schema.decodeUnknownSync(SearchRequest)({ user_id: USER, query: `${words(2 + Math.floor(random() * 4))} ${queriesMade++}`, method, top_k: 10,
        ...(options.maxTokens === undefined ? {} : { max_tokens: options.maxTokens }) })
    const warmUpStart = performance.now()
    for (let i = 0; i < WARM_UP_QUERIES || (method === "hybrid" && performance.now() - warmUpStart < WARM_UP_MS); i++) {
      yield* search.search(request())
    }
    const times: Array<number> = []
    const cpuTimes: Array<number> = []
    const embedTimes: Array<number> = []
    const embedCpuTimes: Array<number> = []
    let returned = 0
    for (let i = 0; i < queryCount; i++) {
      const next = request()
      if (preEmbed) {
        const embedStart = performance.now()
        const embedCpu = cpuMs()
        yield* embedder.embedQuery(next.query)
        embedTimes.push(performance.now() - embedStart)
        embedCpuTimes.push(cpuMs() - embedCpu)
      }
      const start = performance.now()
      const cpu = cpuMs()
      const result = yield* search.search(next)
      times.push(performance.now() - start)
      cpuTimes.push(cpuMs() - cpu)
      returned += result.episodes.length
    }
    return {
      ...summary(times),
      cpu: summary(cpuTimes),
      mean_episodes: Number((returned / times.length).toFixed(1)),
      query_embedding: preEmbed ? { ...summary(embedTimes), cpu: summary(embedCpuTimes) } : null
    }
  })

/** Queries made so far: each query ends with its number, so none repeats (and none is answered from the query cache). */
let queriesMade = 0

/**
 * The embedder of synthetic mode: stored vectors are hashed bags of words (FakeEmbedder), so a
 * query's vector must be one too; but the query is also embedded by the local model (its vector
 * then dropped), so what the model costs is paid where a real query pays it, cached the same way.
 */
const syntheticEmbedder = Layer.scoped(
  Embedder,
  Effect.gen(function*() {
    const local = yield* makeLocalEmbedder({ timeout: Duration.seconds(120) })
    const embedQuery = yield* cachedQueries((query) => Effect.as(local.embedQuery(query), fakeEmbedding(query, DIMENSIONS)))
    return Embedder.of({
      model: FAKE_MODEL,
      dimensions: DIMENSIONS,
      embed: (texts) => Effect.sync(() => texts.map((text) => fakeEmbedding(text, DIMENSIONS))),
      embedQuery
    })
  })
)

const file = Path.join(dir, "engram.db")
const embedderLayer = vectorsFrom === "local" ? LocalEmbedder.layer({ timeout: Duration.seconds(120) }) : syntheticEmbedder
const layer = Layer.mergeAll(Search.Default, DerivedRepo.Default, LedgerRepo.Default, MemcellRepo.Default).pipe(
  Layer.provideMerge(TrackSearch.Default.pipe(Layer.provide(ProfileBuilder.Default))),
  Layer.provideMerge(EmbeddingIndexer.Default.pipe(Layer.provideMerge(embedderLayer))),
  Layer.provideMerge(Layer.mergeAll(SearchRepo.Default, SqliteVectorStore, PassageVectors.Default, Lexicon.Default, TokenCounter.Default)),
  Layer.provideMerge(Database.layerFile(file))
)

const program = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const embedder = yield* Embedder
  const rssBefore = process.memoryUsage().rss
  yield* embedder.embedQuery("start the model thread")
  const modelRssMb = Math.round((process.memoryUsage().rss - rssBefore) / 1e6)
  let written = (yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM episodes`)[0]!.n
  for (const size of sizes) {
    if (size < written) continue
    const start = performance.now()
    const embedding = yield* grow(written, size)
    const writeSeconds = (performance.now() - start) / 1000
    written = size
    const keyword = yield* measure("keyword")
    const hybrid = yield* measure("hybrid")
    const hybridEndToEnd = yield* measure("hybrid", { embedded: false })
    const keyword_context_1000 = yield* measure("keyword", { maxTokens: 1000 })
    const bytes = Fs.readdirSync(dir).reduce((sum, name) => sum + Fs.statSync(Path.join(dir, name)).size, 0)
    console.log(JSON.stringify({
      episodes: size,
      facts: size * factsPerEpisode,
      vectors: vectorsFrom,
      dimensions: DIMENSIONS,
      queries: queryCount,
      keyword: { p50_ms: keyword.p50_ms, p95_ms: keyword.p95_ms, max_ms: keyword.max_ms, cpu: keyword.cpu, mean_episodes: keyword.mean_episodes },
      hybrid: { p50_ms: hybrid.p50_ms, p95_ms: hybrid.p95_ms, max_ms: hybrid.max_ms, cpu: hybrid.cpu, mean_episodes: hybrid.mean_episodes },
      hybrid_end_to_end: { p50_ms: hybridEndToEnd.p50_ms, p95_ms: hybridEndToEnd.p95_ms, max_ms: hybridEndToEnd.max_ms, cpu: hybridEndToEnd.cpu },
      keyword_context_1000: { p50_ms: keyword_context_1000.p50_ms, p95_ms: keyword_context_1000.p95_ms, cpu: keyword_context_1000.cpu },
      load_average: Os.loadavg().map((n) => Number(n.toFixed(1))),
      query_embedding: hybrid.query_embedding,
      embedding_jobs: embedding,
      model_thread_rss_mb: modelRssMb,
      write_s: Number(writeSeconds.toFixed(1)),
      database_mb: Math.round(bytes / 1e6)
    }))
  }
})

Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(layer))).then(
  () => {
    if (keptDir === undefined) Fs.rmSync(dir, { recursive: true, force: true })
  },
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
