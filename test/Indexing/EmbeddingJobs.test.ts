import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schedule, Schema } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { SearchRequest, type SearchRequestInput } from "../../src/Domain/SearchRequest.js"
import { fakeEmbedderLayer } from "../support/FakeEmbedder.js"
import { LOCAL_MODEL, LocalEmbedder } from "../../src/Llm/LocalEmbedder.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { Search } from "../../src/Search/Search.js"
import * as Database from "../../src/Storage/Database.js"
import { VectorStore } from "../../src/Indexing/VectorStore.js"
import { addRequest, keyOf } from "../support/Messages.js"
import { embeddingIndexer, keywordSearchTestLayer, vectorSearchTestLayer } from "../support/SearchTestLayer.js"

const MONDAY = Date.UTC(2024, 4, 6, 18, 0)
const env = { ENGRAM_EXTRACTION_POLL_INTERVAL: "50 millis" }

const conversation = [
  { sender_id: "alice", role: "user" as const, content: "I moved to Berlin last year for a job at a robotics startup." },
  { sender_id: "assistant", role: "assistant" as const, content: "Congratulations! How are you finding Berlin so far?" },
  { sender_id: "alice", role: "user" as const, content: "I love it. My sister Maria lives in Hamburg." }
].map((m, i) => ({ ...m, message_id: `c${i}`, timestamp: MONDAY + i * 60_000 }))

const search = (input: SearchRequestInput) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(SearchRequest)(input)), (request) => Effect.flatMap(Search, (s) => s.search(request)))

/** Adds the conversation and flushes it, waiting for extraction (embedding jobs included). */
const remember = (session: string) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    yield* memory.add(addRequest(session, conversation.map((m) => ({ ...m, message_id: `${session}-${m.message_id}` }))))
    const flushed = yield* memory.flush(keyOf(session), { wait: "20 seconds" })
    expect(flushed.extraction_complete).toBe(true)
  })

const jobKinds = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ kind: string; status: string }>`SELECT kind, status FROM extraction_jobs ORDER BY kind`)

const derivedCount = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ n: number }>`SELECT (SELECT COUNT(*) FROM episodes) + (SELECT COUNT(*) FROM atomic_facts) AS n`).pipe(
    Effect.map((rows) => rows[0]!.n)
  )

// Real extraction workers on real SQLite: seconds on a saturated machine, not the default 5 s.
describe("embedding in the extraction runtime", { timeout: 60_000 }, () => {
  it.live("with an embedder, episode and fact writes queue embedding jobs that store one vector per item", () =>
    Effect.gen(function*() {
      yield* remember("trip")
      const kinds = yield* jobKinds
      expect(kinds.filter((j) => j.kind.startsWith("embed_"))).toEqual([
        { kind: "embed_episodes", status: "done" },
        { kind: "embed_facts", status: "done" }
      ])
      const items = yield* derivedCount
      expect(items).toBeGreaterThan(1)
      expect(yield* (yield* VectorStore).count).toBe(items)
      const result = yield* search({ user_id: "alice", query: "where does my sister live" })
      expect(result.method).toBe("hybrid")
      expect(result.episodes[0]!.message_ids).toEqual(["trip-c0", "trip-c1", "trip-c2"])
    }).pipe(Effect.provide(vectorSearchTestLayer(fakeEmbedderLayer({ dimensions: 64 }), { workers: true, env }))))

  it.live("without an embedder no embedding job is queued and search is keyword", () =>
    Effect.gen(function*() {
      yield* remember("trip")
      expect((yield* jobKinds).filter((j) => j.kind.startsWith("embed_"))).toEqual([])
      expect((yield* search({ user_id: "alice", query: "Hamburg" })).method).toBe("keyword")
    }).pipe(Effect.provide(keywordSearchTestLayer({ workers: true, env }))))
})

describe("a change of embedding model", { timeout: 60_000 }, () => {
  const withDatabaseFile = <A, E, R>(test: (file: string) => Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-embed-"))),
      (dir) => test(Path.join(dir, "engram.db")),
      (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
    )

  const onFile = (file: string, model: string, dimensions: number) =>
    vectorSearchTestLayer(fakeEmbedderLayer({ model, dimensions }), { workers: true, env, database: Database.layerFile(file) })

  /** Resolves once no embedding job is queued or running (bounded). */
  const embeddingSettled = Effect.flatMap(embeddingIndexer, (indexer) =>
    indexer.progress.pipe(
      Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (p) => p.queued + p.running === 0 }),
      Effect.timeoutFail({ duration: Duration.seconds(20), onTimeout: () => new Error("embedding jobs did not finish") })
    ))

  it.live("is detected: vectors are refused (with a reembed hint) until `reembed` re-embeds everything", () =>
    withDatabaseFile((file) =>
      Effect.gen(function*() {
        yield* remember("trip").pipe(Effect.provide(onFile(file, "fake-a", 8)))

        yield* Effect.gen(function*() {
          // Default method falls back to keyword; asking for vectors is refused, never mixed.
          expect((yield* search({ user_id: "alice", query: "Hamburg" })).method).toBe("keyword")
          const refused = yield* Effect.flip(search({ user_id: "alice", query: "Hamburg", method: "hybrid" }))
          expect(refused._tag).toBe("CapabilityUnavailable")
          expect(refused.message).toContain("'fake-a' (8 dimensions)")
          expect(refused.message).toContain("'fake-b' (16 dimensions)")
          expect(refused.message).toContain("engram reembed")
          // An embedding job under the new model does not write into the old table either.
          const indexer = yield* embeddingIndexer
          const sql = yield* SqlClient.SqlClient
          const [cell] = yield* sql<{ memcell_id: string }>`SELECT memcell_id FROM memcells`
          const write = yield* indexer.prepareJob("embed_episodes", cell!.memcell_id)
          expect((yield* Effect.flip(sql.withTransaction(write)))._tag).toBe("CapabilityUnavailable")

          const queued = yield* indexer.reembedAll()
          expect(queued).toBe(2)
          yield* embeddingSettled
          expect(yield* (yield* VectorStore).count).toBe(yield* derivedCount)
          const result = yield* search({ user_id: "alice", query: "Hamburg", method: "hybrid" })
          expect(result.method).toBe("hybrid")
          expect(result.episodes).toHaveLength(1)
        }).pipe(Effect.provide(onFile(file, "fake-b", 16)))

        // And the first model is now the stranger.
        yield* Effect.flip(search({ user_id: "alice", query: "Hamburg", method: "vector" })).pipe(
          Effect.map((error) => expect(error.message).toContain("'fake-b' (16 dimensions)")),
          Effect.provide(onFile(file, "fake-a", 8))
        )
      })
    ))

  it.live("moves a database embedded by an endpoint's model to the default local model, and back", () =>
    withDatabaseFile((file) =>
      Effect.gen(function*() {
        yield* remember("trip").pipe(Effect.provide(onFile(file, "text-embedding-3-small", 1536)))
        const local = vectorSearchTestLayer(LocalEmbedder.layer({ timeout: Duration.seconds(60) }), {
          workers: true,
          env,
          database: Database.layerFile(file)
        })
        yield* Effect.gen(function*() {
          const refused = yield* Effect.flip(search({ user_id: "alice", query: "Where does my sister live?", method: "vector" }))
          expect(refused._tag).toBe("CapabilityUnavailable")
          expect(refused.message).toContain(`'${LOCAL_MODEL}' (512 dimensions)`)
          expect(refused.message).toContain("engram reembed")
          expect(yield* (yield* embeddingIndexer).reembedAll()).toBe(2)
          yield* embeddingSettled
          expect(yield* (yield* VectorStore).count).toBe(yield* derivedCount)
          const result = yield* search({ user_id: "alice", query: "Where does my sister live?", method: "vector" })
          expect(result.episodes.map((e) => e.message_ids)).toEqual([["trip-c0", "trip-c1", "trip-c2"]])
        }).pipe(Effect.provide(local))
        yield* Effect.flip(search({ user_id: "alice", query: "Hamburg", method: "hybrid" })).pipe(
          Effect.map((error) => expect(error.message).toContain(`'${LOCAL_MODEL}' (512 dimensions)`)),
          Effect.provide(onFile(file, "text-embedding-3-small", 1536))
        )
      })
    ), 120_000)
})
