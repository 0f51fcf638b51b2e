import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Schedule, Schema } from "effect"
import { SearchRequest, type SearchRequestInput } from "../../src/Domain/SearchRequest.js"
import { vectorOwner, VectorStore } from "../../src/Indexing/VectorStore.js"
import { httpServerLayer } from "../../src/Http/Server.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { Search } from "../../src/Search/Search.js"
import { episodeIdIn, seedCorpus } from "../fixtures/searchCorpus.js"
import { postgresEngine } from "../support/Engines.js"
import { fakeEmbedderLayer, fakeEmbedding } from "../support/FakeEmbedder.js"
import { baseUrl, type Reply, request } from "../support/HttpTestServer.js"
import { addRequest, keyOf } from "../support/Messages.js"
import { boundaryAnswer, configLayer, memoryTestLayer, textServices } from "../support/MemoryTestLayer.js"
import { pgliteDatabase, pgliteDatabaseAt, pgliteServer } from "../support/PgliteServer.js"
import { embeddingIndexer } from "../support/SearchTestLayer.js"

/**
 * pgvector for real: PGlite (Postgres 18 in WebAssembly) with pgvector, reached over the wire
 * protocol by @effect/sql-pg through ENGRAM_DATABASE_URL / ENGRAM_DATABASE_MAX_CONNECTIONS; and
 * the run's PostgreSQL 15 cluster, which has no pgvector, for what happens without it.
 */

/** Wide enough that the hashed words of these short texts rarely share a bucket. */
const DIMENSIONS = 384
const env = { ENGRAM_EXTRACTION_POLL_INTERVAL: "50 millis" }

/**
 * A unit vector on a smooth curve through `DIMENSIONS` dimensions (cos/sin pairs of growing
 * frequencies): the distance between two points grows with the gap between their positions, so
 * near positions are near neighbours (distinct gaps, distinct distances). HNSW is approximate: on
 * texts of the hashed-words fake (many items at exactly equal distances, and identical vectors in
 * two owners) its greedy search stops on the plateau and can miss the exact match (measured on
 * PGlite: 4 misses in 80 index builds of the earlier fixture, 25 in 200 with random texts and
 * copies; none in 300 builds of this one).
 */
const curvePoint = (position: number): Float32Array => {
  const vector = new Float32Array(DIMENSIONS)
  for (let k = 0; k < DIMENSIONS / 2; k++) {
    const frequency = 0.02 * 1.02 ** k
    vector[2 * k] = Math.cos(frequency * position) / Math.sqrt(DIMENSIONS / 2)
    vector[2 * k + 1] = Math.sin(frequency * position) / Math.sqrt(DIMENSIONS / 2)
  }
  return vector
}

/** The HTTP stack over `database` with the hashed-words fake embedder, local extractors, no cuts until flush. */
const serverOn = (database: Layer.Layer<SqlClient.SqlClient>, background: boolean) =>
  httpServerLayer({ host: "127.0.0.1", port: 0, maxBodyBytes: 1024 * 1024, shutdownTimeout: Duration.seconds(2) }).pipe(
    Layer.provideMerge(memoryTestLayer({
      llm: () => boundaryAnswer([]),
      extractors: "local",
      embedder: fakeEmbedderLayer({ dimensions: DIMENSIONS }),
      database,
      background,
      env
    })),
    Layer.provide(textServices),
    Layer.provide(configLayer(env))
  )

const searchAt = (url: string, body: unknown) => request(`${url}/api/v2/memory/search`, { body })
const episodeIds = (reply: Reply): ReadonlyArray<string> => reply.body.data.episodes.map((e: { id: string }) => e.id)

const search = (input: SearchRequestInput) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(SearchRequest)(input)), (request) => Effect.flatMap(Search, (s) => s.search(request)))

const MONDAY = Date.UTC(2024, 4, 6, 18, 0)
const conversations: Record<string, ReadonlyArray<string>> = {
  trip: ["I moved to Berlin last year for a job at a robotics startup.", "My sister Maria lives in Hamburg near the harbour."],
  food: ["Tonight I cooked paella with saffron rice and prawns.", "The paella recipe came from a cook in Valencia."]
}

/** `user`'s conversation `topic` in session `user-topic`, flushed and extracted (embedding jobs included). */
const remember = (user: string, topic: string) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const session = `${user}-${topic}`
    yield* memory.add(addRequest(
      session,
      conversations[topic]!.map((content, i) => ({
        message_id: `${session}-${i}`,
        sender_id: user,
        role: "user" as const,
        content,
        timestamp: MONDAY + i * 60_000
      }))
    ))
    const flushed = yield* memory.flush(keyOf(session), { wait: "60 seconds" })
    expect(flushed.extraction_complete).toBe(true)
  })

const count = (query: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<{ n: number }>(query)).pipe(Effect.map((rows) => Number(rows[0]!.n)))

/** Episodes and facts of memcells whose messages `user` sent. */
const itemsOf = (user: string) =>
  count(`SELECT (SELECT COUNT(*) FROM episodes WHERE user_id = '${user}') + (SELECT COUNT(*) FROM atomic_facts WHERE user_id = '${user}') AS n`)

layer(serverOn(pgliteDatabase, true), { excludeTestServices: true, timeout: "180 seconds" })("pgvector on Postgres (PGlite)", (it) => {
  it.effect("is detected at startup: the vectors get a vector(d) column of the model's width under an HNSW cosine index", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const [extension] = yield* sql<{ extversion: string }>`SELECT extversion FROM pg_extension WHERE extname = 'vector'`
      expect(extension?.extversion).toMatch(/^\d+\.\d+/)
      const [column] = yield* sql<{ type: string }>`
        SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = 'item_vectors'::regclass AND attname = 'embedding'`
      expect(column?.type).toBe(`vector(${DIMENSIONS})`)
      const indexes = (yield* sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE tablename = 'item_vectors'`).map((i) => i.indexdef)
      expect(indexes.some((def) => def.includes("USING hnsw (embedding vector_cosine_ops)"))).toBe(true)
    }))

  it.effect("/health reports vectors available in pgvector, with vector and hybrid search enabled", () =>
    Effect.gen(function*() {
      const health = yield* request(`${yield* baseUrl}/health`)
      expect(health.body.capabilities.vectors).toEqual({ store: "pgvector", available: true, hint: null })
      expect(health.body.capabilities.embed).toBe(true)
      expect(health.body.disabled_features).not.toContain("vector_search")
      expect(health.body.disabled_features).not.toContain("hybrid_search")
    }))

  it.effect("the embedding step writes one vector per episode and fact, under each owner", () =>
    Effect.gen(function*() {
      yield* remember("alice", "trip")
      yield* remember("alice", "food")
      yield* remember("bob", "food")
      const sql = yield* SqlClient.SqlClient
      const jobs = yield* sql<{ kind: string; status: string }>`
        SELECT kind, status FROM extraction_jobs WHERE kind LIKE 'embed_%' ORDER BY kind`
      expect(jobs.length).toBe(6)
      expect(jobs.every((job) => job.status === "done")).toBe(true)
      const alice = yield* itemsOf("alice")
      const bob = yield* itemsOf("bob")
      expect(alice).toBeGreaterThan(2)
      expect(yield* (yield* VectorStore).count).toBe(alice + bob)
      expect(yield* count(`SELECT COUNT(*) AS n FROM item_vectors WHERE owner LIKE 'default/default/bob/%'`)).toBe(bob)
    }))

  it.effect("vector and hybrid search over HTTP rank the embedder's nearest first, only within the owner", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      // The store's answer for alice's episodes: the paella episode first, by cosine distance.
      const sql = yield* SqlClient.SqlClient
      const owner = vectorOwner("default", "default", "alice", "episode")
      const nearest = yield* (yield* VectorStore).nearest(owner, fakeEmbedding("paella with saffron", DIMENSIONS), 10, DIMENSIONS)
      const [first] = yield* sql<{ item_id: string }>`SELECT item_id FROM search_items WHERE item_key = ${nearest[0]!.item_key}`
      const [food] = yield* sql<{ episode_id: string }>`SELECT episode_id FROM episodes WHERE session_id = 'alice-food'`
      expect(first?.item_id).toBe(food?.episode_id)
      expect(nearest.map((n) => n.distance)).toEqual([...nearest.map((n) => n.distance)].sort((x, y) => x - y))
      // Over HTTP (fused with the fact lists; radius drops the unrelated items, similarity 0).
      for (const method of ["vector", "hybrid"]) {
        const sister = yield* searchAt(url, { user_id: "alice", query: "where does my sister Maria live", method, radius: 0.1 })
        expect(sister.status).toBe(200)
        expect(sister.body.data.method).toBe(method)
        expect(sister.body.data.episodes[0].session_id).toBe("alice-trip")
        const paella = yield* searchAt(url, { user_id: "alice", query: "paella with saffron", method, radius: 0.1 })
        expect(paella.body.data.episodes.map((e: { session_id: string }) => e.session_id)).toEqual(["alice-food"])
        // Tenant isolation: bob's search sees bob's memory only; another app sees nothing.
        const bobs = yield* searchAt(url, { user_id: "bob", query: "sister Maria paella", method })
        expect(bobs.body.data.episodes.length).toBeGreaterThan(0)
        expect(bobs.body.data.episodes.every((e: { user_id: string }) => e.user_id === "bob")).toBe(true)
        expect(episodeIds(yield* searchAt(url, { user_id: "alice", app_id: "other", query: "paella", method }))).toEqual([])
      }
    }))

  it.effect("filters apply to vector candidates", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const filtered = yield* searchAt(url, {
        user_id: "alice",
        query: "paella with saffron",
        method: "vector",
        filters: { session_id: "alice-trip" }
      })
      expect(filtered.body.data.episodes.length).toBeGreaterThan(0)
      expect(filtered.body.data.episodes.every((e: { session_id: string }) => e.session_id === "alice-trip")).toBe(true)
    }))

  it.effect("forgetting removes the vectors in the same transaction", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const before = yield* (yield* VectorStore).count
      const food = yield* count(`SELECT (SELECT COUNT(*) FROM episodes WHERE session_id = 'alice-food')
        + (SELECT COUNT(*) FROM atomic_facts f JOIN episodes e ON e.episode_id = f.episode_id WHERE e.session_id = 'alice-food') AS n`)
      expect(food).toBeGreaterThan(0)
      const deleted = yield* request(`${url}/api/v2/memory/delete`, { body: { user_id: "alice", session_id: "alice-food" } })
      expect(deleted.status).toBe(200)
      expect(yield* (yield* VectorStore).count).toBe(before - food)
      expect(yield* count(`SELECT COUNT(*) AS n FROM item_vectors WHERE owner LIKE 'default/default/alice/%'`)).toBe(yield* itemsOf("alice"))
      const paella = yield* searchAt(url, { user_id: "alice", query: "paella with saffron", method: "vector" })
      expect(paella.body.data.episodes.every((e: { session_id: string }) => e.session_id !== "alice-food")).toBe(true)
    }))

  it.effect("a big owner goes through the HNSW index (iterative scan): the same nearest as an exact scan, only the owner's", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* VectorStore
      const owners = [vectorOwner("big", "default", "carol", "episode"), vectorOwner("big", "default", "dave", "episode")]
      // Item key -> its position on the curve; carol's items sit at even positions, dave's at odd
      // ones, so the query's nearest neighbours overall are dave's and the owner filter must skip them.
      const carol = new Map<number, number>()
      // Items registered in search_items as the triggers would (item_vectors references them).
      yield* sql.withTransaction(Effect.gen(function*() {
        const entries = []
        for (const [o, owner] of owners.entries()) {
          for (let i = 0; i < 200; i++) {
            const [row] = yield* sql<{ item_key: number }>`
              INSERT INTO search_items (item_id, kind, has_cjk) VALUES (${`${owner}#${i}`}, 'episode', 0) RETURNING item_key`
            const position = 2 * i + o
            if (o === 0) carol.set(row!.item_key, position)
            entries.push({ item_key: row!.item_key, owner, vector: curvePoint(position) })
          }
        }
        yield* store.replace(entries, DIMENSIONS)
      }))
      // Between two of carol's positions and off-centre, so no two items are equally far from it.
      const query = curvePoint(6.3)
      const exact = yield* store.nearest(owners[0]!, query, 10, DIMENSIONS)
      const approximate = yield* store.nearest(owners[0]!, query, 10, DIMENSIONS, 0)
      expect(exact).toHaveLength(10)
      expect(approximate).toHaveLength(10)
      expect(carol.get(exact[0]!.item_key)).toBe(6)
      expect(approximate[0]).toEqual(exact[0])
      expect(approximate.every((n) => carol.has(n.item_key))).toBe(true)
      // Several owners at once: each answer is that owner's own read.
      expect(yield* store.nearestEach(owners.map((owner) => ({ owner, k: 10 })), query, DIMENSIONS)).toEqual([
        exact,
        yield* store.nearest(owners[1]!, query, 10, DIMENSIONS)
      ])
      const distances = approximate.map((n) => n.distance)
      expect(distances).toEqual([...distances].sort((a, b) => a - b))
      // With the settings of that path (no sort), the planner serves the query from the HNSW index.
      const plan = yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`SET LOCAL enable_sort = off`
        return yield* sql<{ "QUERY PLAN": string }>`
          EXPLAIN SELECT item_key FROM item_vectors WHERE owner = ${owners[0]!}
          ORDER BY embedding <=> ${`[${Array.from(query).join(",")}]`}::vector LIMIT 10`
      }))
      expect(plan.map((line) => line["QUERY PLAN"]).join("\n")).toContain("item_vectors_hnsw")
    }))
})

describe("a change of embedding model on pgvector", { timeout: 180_000 }, () => {
  /** Resolves once no embedding job is queued or running (bounded). */
  const embeddingSettled = Effect.flatMap(embeddingIndexer, (indexer) =>
    indexer.progress.pipe(
      Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (p) => p.queued + p.running === 0 }),
      Effect.timeoutFail({ duration: Duration.seconds(60), onTimeout: () => new Error("embedding jobs did not finish") })
    ))

  it.live("is refused until reembed, which recreates the vector column at the new width", () =>
    Effect.gen(function*() {
      const { url } = yield* pgliteServer
      const onModel = (model: string, dimensions: number) =>
        memoryTestLayer({
          llm: () => boundaryAnswer([]),
          extractors: "local",
          embedder: fakeEmbedderLayer({ model, dimensions }),
          database: pgliteDatabaseAt(url),
          background: true,
          env
        }).pipe(Layer.provide(textServices))

      yield* remember("alice", "trip").pipe(Effect.provide(onModel("fake-a", 8)))
      yield* Effect.gen(function*() {
        const refused = yield* Effect.flip(search({ user_id: "alice", query: "Hamburg", method: "vector" }))
        expect(refused.message).toContain("'fake-a' (8 dimensions)")
        expect(yield* (yield* embeddingIndexer).reembedAll()).toBe(2)
        yield* embeddingSettled
        const sql = yield* SqlClient.SqlClient
        const [column] = yield* sql<{ type: string }>`
          SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
          WHERE attrelid = 'item_vectors'::regclass AND attname = 'embedding'`
        expect(column?.type).toBe("vector(16)")
        expect(yield* (yield* VectorStore).count).toBe(yield* itemsOf("alice"))
        const result = yield* search({ user_id: "alice", query: "my sister in Hamburg", method: "vector" })
        expect(result.episodes[0]?.session_id).toBe("alice-trip")
      }).pipe(Effect.provide(onModel("fake-b", 16)))
    }).pipe(Effect.scoped))
})

const withoutPgvector = postgresEngine()

describe.skipIf(withoutPgvector.skipped !== undefined)(
  `Postgres without pgvector (the run's cluster)${withoutPgvector.skipped === undefined ? "" : ` (skipped: ${withoutPgvector.skipped})`}`,
  () => {
    const seeded = Layer.effectDiscard(seedCorpus()).pipe(Layer.provideMerge(serverOn(withoutPgvector.fresh, false)))

    layer(seeded, { excludeTestServices: true, timeout: "120 seconds" })("with an embedder configured", (it) => {
      it.effect("/health reports vectors unavailable with the reason, and vector and hybrid search disabled", () =>
        Effect.gen(function*() {
          const health = yield* request(`${yield* baseUrl}/health`)
          expect(health.body.capabilities.embed).toBe(true)
          expect(health.body.capabilities.vectors).toMatchObject({ store: "pgvector", available: false })
          expect(health.body.capabilities.vectors.hint).toContain("pgvector extension is not installed")
          expect(health.body.disabled_features).toEqual(expect.arrayContaining(["vector_search", "hybrid_search"]))
        }))

      it.effect("vector and hybrid answer 503 CAPABILITY_UNAVAILABLE with the hint; keyword keeps working", () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          for (const method of ["vector", "hybrid"]) {
            const reply = yield* searchAt(url, { user_id: "alice", query: "paella", method })
            expect({ status: reply.status, code: reply.body.error?.code }).toEqual({ status: 503, code: "CAPABILITY_UNAVAILABLE" })
            expect(reply.body.error.message).toContain("pgvector")
          }
          const keyword = yield* searchAt(url, { user_id: "alice", query: "paella", method: "keyword" })
          expect(keyword.status).toBe(200)
          expect(episodeIds(keyword)[0]).toBe(episodeIdIn("mc-food"))
        }))

      it.effect("embedding jobs finish without computing or storing vectors", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const indexer = yield* embeddingIndexer
          yield* sql.withTransaction(yield* indexer.prepareJob("embed_episodes", "mc-food"))
          expect(yield* (yield* VectorStore).count).toBe(0)
        }))

      it.effect("reembed is refused with the same reason (it would queue work with nowhere to store it)", () =>
        Effect.gen(function*() {
          const refused = yield* Effect.flip((yield* embeddingIndexer).reembedAll())
          expect(refused._tag).toBe("CapabilityUnavailable")
          expect(refused.message).toContain("pgvector extension is not installed")
        }))
    })
  }
)
