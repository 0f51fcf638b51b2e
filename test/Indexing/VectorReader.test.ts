import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schedule, type Scope, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { readNearest } from "../../src/Indexing/SqliteNearest.js"
import { sqliteVectorStoreWith } from "../../src/Indexing/SqliteVectorStore.js"
import { makeVectorReader, MAX_FAILURES, READ_TIMEOUT, RESTART_BACKOFF } from "../../src/Indexing/VectorReader.js"
import { EXACT_SCAN_LIMIT, vectorOwner, VectorStore } from "../../src/Indexing/VectorStore.js"
import * as Database from "../../src/Storage/Database.js"
import { fakeEmbedding } from "../support/FakeEmbedder.js"

const TOPICS = ["paella saffron rice", "berlin robotics startup", "marathon running canal", "cat named miso", "lisbon trip friday"]
const DIMENSIONS = 64

const tempFile = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-vector-reader-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => Path.join(dir, Database.DATABASE_FILE)))

/** `n` items per owner from key `from + 1` on: each a topic plus noise words, registered in search_items as the triggers would. */
const seed = (owners: ReadonlyArray<string>, n: number, from = 0) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const store = yield* VectorStore
    yield* store.prepare({ model: "fake", dimensions: DIMENSIONS })
    let key = from
    const entries = owners.flatMap((owner) =>
      Array.from({ length: n }, (_, i) => {
        key++
        return { item_key: key, owner, vector: fakeEmbedding(`${TOPICS[i % TOPICS.length]} note${i} word${(i * 7) % 13}`, DIMENSIONS) }
      })
    )
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`INSERT INTO search_items ${sql.insert(entries.map((e) => ({ item_key: e.item_key, item_id: `i${e.item_key}`, kind: "episode", has_cjk: 0 })))}`
      yield* store.replace(entries, DIMENSIONS)
    }))
  })

/** A file database with the store (reader thread as given) on it. */
const onFile = <A, E>(
  body: (file: string) => Effect.Effect<A, E, VectorStore | SqlClient.SqlClient | Scope.Scope>,
  options: Parameters<typeof sqliteVectorStoreWith>[0] = {}
) =>
  Effect.flatMap(tempFile, (file) =>
    body(file).pipe(Effect.provide(sqliteVectorStoreWith(options).pipe(Layer.provideMerge(Database.layerFile(file))))))

const alice = vectorOwner("default", "default", "alice", "episode")
const bob = vectorOwner("default", "default", "bob", "episode")

// Each test starts a thread (tsx transpiles its modules): seconds on a saturated machine.
describe("the vector reader thread", { timeout: 60_000 }, () => {
  it.scopedLive("answers exactly what the in-process read answers (exact and two-stage), and sees later commits", () =>
    onFile((file) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* seed([alice, bob], 300)
        const reader = yield* makeVectorReader(file)
        yield* reader.ready
        const queries = ["cat named miso note3 word8", "berlin robotics", "saffron canal friday", "nothing in common"]
        for (const text of queries) {
          const query = fakeEmbedding(text, DIMENSIONS)
          for (const [owner, k, exactScanLimit] of [[alice, 10, 5000], [alice, 10, 0], [bob, 50, 0], [bob, 300, 5000]] as const) {
            const inProcess = yield* readNearest(sql, owner, query, k, DIMENSIONS, exactScanLimit)
            expect(inProcess.length).toBeGreaterThan(0)
            expect(yield* reader.nearest(owner, query, k, DIMENSIONS, exactScanLimit)).toEqual(inProcess)
          }
        }
        // The store's reads of several owners at once, on the thread (ready above), answer the same.
        const store = yield* VectorStore
        const query = fakeEmbedding("berlin robotics note1", DIMENSIONS)
        expect(yield* store.nearestEach([{ owner: alice, k: 20 }, { owner: bob, k: 40 }], query, DIMENSIONS)).toEqual([
          yield* readNearest(sql, alice, query, 20, DIMENSIONS, EXACT_SCAN_LIMIT),
          yield* readNearest(sql, bob, query, 40, DIMENSIONS, EXACT_SCAN_LIMIT)
        ])
        // Written after the thread opened its connection: its next read sees them.
        const carol = vectorOwner("default", "default", "carol", "fact")
        yield* seed([carol], 20, 600)
        const later = fakeEmbedding("lisbon trip friday note4 word2", DIMENSIONS)
        const fresh = yield* reader.nearest(carol, later, 5, DIMENSIONS, 0)
        expect(fresh).toHaveLength(5)
        expect(fresh).toEqual(yield* readNearest(sql, carol, later, 5, DIMENSIONS, 0))
      })
    ))
})

/** The scripted thread: answers one neighbour keyed by its thread id; owners "crash", "hang" and "throw" misbehave. */
const scripted = new URL("../support/scriptedVectorReaderWorker.ts", import.meta.url)
const threadOf = (neighbours: ReadonlyArray<{ item_key: number }>) => neighbours[0]!.item_key

describe("a failing vector reader thread", { timeout: 60_000 }, () => {
  it.scoped("a crash fails the read in flight with a typed error; after the backoff a new thread answers", () =>
    Effect.gen(function*() {
      const reader = yield* makeVectorReader("unused.db", { workerEntry: scripted, threads: 1 })
      yield* reader.ready
      const first = threadOf(yield* reader.nearest("a", new Float32Array(8), 1, 8, 0))
      const error = yield* Effect.flip(reader.nearest("crash", new Float32Array(8), 1, 8, 0))
      expect(error._tag).toBe("VectorReaderUnavailable")
      expect(error.reason).toContain("exited with code 3")
      // Not before the backoff: the caller reads in-process meanwhile.
      expect((yield* Effect.flip(reader.nearest("a", new Float32Array(8), 1, 8, 0))).reason).toContain("waiting to restart")
      yield* TestClock.adjust(RESTART_BACKOFF)
      expect((yield* Effect.flip(reader.nearest("a", new Float32Array(8), 1, 8, 0))).reason).toContain("starting")
      yield* reader.ready
      const second = threadOf(yield* reader.nearest("a", new Float32Array(8), 1, 8, 0))
      expect(second).not.toBe(first)
    }))

  it.scoped("reads sent at once go to different threads of the pool", () =>
    Effect.gen(function*() {
      const reader = yield* makeVectorReader("unused.db", { workerEntry: scripted, threads: 2 })
      yield* reader.ready
      const first = yield* reader.send("a", new Float32Array(8), 1, 8, 0)
      const second = yield* reader.send("b", new Float32Array(8), 1, 8, 0)
      expect(threadOf(yield* first)).not.toBe(threadOf(yield* second))
    }))

  it.scoped("a read without an answer within the timeout fails, and its thread is replaced; a failed read keeps the thread", () =>
    Effect.gen(function*() {
      const reader = yield* makeVectorReader("unused.db", { workerEntry: scripted, threads: 1 })
      yield* reader.ready
      const first = threadOf(yield* reader.nearest("a", new Float32Array(8), 1, 8, 0))
      expect((yield* Effect.flip(reader.nearest("throw", new Float32Array(8), 1, 8, 0))).reason).toContain("scripted failure")
      expect(threadOf(yield* reader.nearest("a", new Float32Array(8), 1, 8, 0))).toBe(first)
      const hung = yield* Effect.fork(Effect.flip(reader.nearest("hang", new Float32Array(8), 1, 8, 0)))
      yield* TestClock.adjust(READ_TIMEOUT)
      const error = yield* hung.await.pipe(Effect.flatten)
      expect(error.reason).toContain("no answer")
      yield* TestClock.adjust(RESTART_BACKOFF)
      yield* reader.ready
      expect(threadOf(yield* reader.nearest("a", new Float32Array(8), 1, 8, 0))).not.toBe(first)
    }))

  it.scoped("after MAX_FAILURES crashes in a row the thread is not started again", () =>
    Effect.gen(function*() {
      const reader = yield* makeVectorReader("unused.db", { workerEntry: scripted, threads: 1 })
      for (let failure = 0; failure < MAX_FAILURES; failure++) {
        yield* reader.ready
        yield* Effect.flip(reader.nearest("crash", new Float32Array(8), 1, 8, 0))
        yield* TestClock.adjust(`${2 ** failure} seconds`)
      }
      expect((yield* Effect.flip(reader.ready)).reason).toContain("failed too often")
    }))

  it.scopedLive("the store reads in-process while its thread starts and when it crashes, with the same answer", () =>
    onFile(() =>
      Effect.gen(function*() {
        const store = yield* VectorStore
        const sql = yield* SqlClient.SqlClient
        yield* seed(["crash"], 50)
        const query = fakeEmbedding("cat named miso", DIMENSIONS)
        const inProcess = yield* readNearest(sql, "crash", query, 5, DIMENSIONS, 0)
        expect(inProcess).toHaveLength(5)
        // Owner "a" has no vectors: the scripted thread's answer (its id) tells it answered.
        expect(yield* store.nearest("a", query, 5, DIMENSIONS, 0)).toEqual([])
        const onThread = yield* store.nearest("a", query, 5, DIMENSIONS, 0).pipe(
          Effect.filterOrFail((neighbours) => neighbours.length > 0),
          Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("30 seconds")))
        )
        expect(onThread).toHaveLength(1)
        expect(yield* store.nearest("crash", query, 5, DIMENSIONS, 0)).toEqual(inProcess)
      }), { reader: { workerEntry: scripted, threads: 1 } }))
})
