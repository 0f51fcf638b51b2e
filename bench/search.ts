/**
 * Search latency (p50/p95) of keyword and hybrid search at growing corpus sizes, on a file
 * database: one user owning every episode (the worst case for a per-user search), a synthetic
 * Zipf-distributed vocabulary, `facts` atomic facts per episode, fake 384-d embeddings.
 * Run: npx tsx bench/search.ts [sizes=10000,100000] [facts=2] [queries=300] [dir]
 * Prints one JSON line per size. With `dir`, the database is kept, and a later run on it only
 * adds what is missing (sizes below what it holds are skipped). Not a test: run by hand.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Memcell } from "../src/Domain/Memcell.js"
import { ScopeId } from "../src/Domain/Message.js"
import { type SearchMethod, SearchRequest } from "../src/Domain/SearchRequest.js"
import { Schema } from "effect"
import { fakeEmbedderLayer, fakeEmbedding } from "../test/support/FakeEmbedder.js"
import { Search } from "../src/Search/Search.js"
import * as Database from "../src/Storage/Database.js"
import { DerivedRepo } from "../src/Extraction/DerivedRepo.js"
import { makeEngram } from "../src/Engram.js"
import { vectorOwner, VectorStore } from "../src/Indexing/VectorStore.js"

const sizes = (process.argv[2] ?? "10000,100000").split(",").map(Number)
const factsPerEpisode = Number(process.argv[3] ?? 2)
const queryCount = Number(process.argv[4] ?? 300)
const dir = process.argv[5] ?? Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-search-bench-"))
const DIMENSIONS = 384
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

/** Writes episodes `from..to-1` (with their facts) through DerivedRepo, so the search triggers run, then their vectors. */
const grow = (from: number, to: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const derived = yield* DerivedRepo
    const vectors = yield* VectorStore
    for (let start = from; start < to; start += WRITE_BATCH) {
      const end = Math.min(to, start + WRITE_BATCH)
      const texts = new Map<string, string>()
      yield* sql.withTransaction(Effect.gen(function*() {
        for (let i = start; i < end; i++) {
          const cell = cellOf(i)
          const episode = { user_id: USER, title: words(4), summary: words(25), content: words(120) }
          const facts = Array.from({ length: factsPerEpisode }, (_, f) => ({ user_id: USER, content: words(12), message_ids: [`m-${i}-${f}`] }))
          yield* derived.replaceEpisodes(cell, [episode], "bench", cell.created_at)
          yield* derived.replaceFacts(cell, facts, "bench", cell.created_at)
          texts.set(`mc-${i}`, `${episode.title}\n${episode.summary}\n${episode.content}`)
          facts.forEach((fact, f) => texts.set(`mc-${i}#${f}`, fact.content))
        }
      }))
      const keys = yield* sql<{ item_key: number; memcell_id: string; kind: string; fact_id: string | null }>`
        SELECT s.item_key, COALESCE(e.memcell_id, f.memcell_id) AS memcell_id, s.kind, f.fact_id
        FROM search_items s LEFT JOIN episodes e ON e.episode_id = s.item_id LEFT JOIN atomic_facts f ON f.fact_id = s.item_id
        WHERE COALESCE(e.memcell_id, f.memcell_id) IN ${sql.in(Array.from({ length: end - start }, (_, k) => `mc-${start + k}`))}`
      const factIndex = new Map<string, number>()
      const entries = keys.map((row) => {
        const n = row.kind === "fact" ? (factIndex.get(row.memcell_id) ?? 0) : 0
        if (row.kind === "fact") factIndex.set(row.memcell_id, n + 1)
        const text = texts.get(row.kind === "episode" ? row.memcell_id : `${row.memcell_id}#${n}`) ?? ""
        const owner = vectorOwner("default", "default", USER, row.kind as "episode" | "fact")
        return { item_key: row.item_key, owner, vector: fakeEmbedding(text, DIMENSIONS) }
      })
      yield* sql.withTransaction(vectors.replace(entries, DIMENSIONS))
      if ((end - from) % 10_000 === 0 || end === to) process.stderr.write(`  ${end} episodes written\n`)
    }
  })

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

/** Latencies of `queryCount` searches (after a warm-up) with 2-5 words each, mixed common and rare. */
const measure = (method: SearchMethod) =>
  Effect.gen(function*() {
    const search = yield* Search
    const requests = Array.from({ length: queryCount + 30 }, () =>
      Schema.decodeUnknownSync(SearchRequest)({ user_id: USER, query: words(2 + Math.floor(random() * 4)), method, top_k: 10 }))
    const times: Array<number> = []
    let returned = 0
    for (const [i, request] of requests.entries()) {
      const start = performance.now()
      const result = yield* search.search(request)
      const elapsed = performance.now() - start
      if (i >= 30) {
        times.push(elapsed)
        returned += result.episodes.length
      }
    }
    times.sort((a, b) => a - b)
    return {
      p50_ms: Number(percentile(times, 0.5).toFixed(2)),
      p95_ms: Number(percentile(times, 0.95).toFixed(2)),
      max_ms: Number(times.at(-1)!.toFixed(2)),
      mean_episodes: Number((returned / times.length).toFixed(1))
    }
  })

const file = Path.join(dir, "engram.db")
const layer = makeEngram({ database: Database.layerFile(file), embedder: fakeEmbedderLayer({ dimensions: DIMENSIONS }) })

const program = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  let written = (yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM episodes`)[0]!.n
  for (const size of sizes) {
    if (size < written) continue
    const start = performance.now()
    yield* grow(written, size)
    const writeSeconds = (performance.now() - start) / 1000
    written = size
    const keyword = yield* measure("keyword")
    const hybrid = yield* measure("hybrid")
    const bytes = Fs.readdirSync(dir).reduce((sum, name) => sum + Fs.statSync(Path.join(dir, name)).size, 0)
    console.log(JSON.stringify({
      episodes: size,
      facts: size * factsPerEpisode,
      dimensions: DIMENSIONS,
      queries: queryCount,
      keyword,
      hybrid,
      write_s: Number(writeSeconds.toFixed(1)),
      database_mb: Math.round(bytes / 1e6)
    }))
  }
})

Effect.runPromise(program.pipe(Effect.provide(layer))).then(
  () => {
    if (process.argv[5] === undefined) Fs.rmSync(dir, { recursive: true, force: true })
  },
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
