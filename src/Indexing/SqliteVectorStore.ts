import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer, Option } from "effect"
import { DatabaseFile, withBusyRetry } from "../Storage/Database.js"
import { CODE_LAYOUT, CODE_TABLE, codeOwner, codeOwnerSql, hasCodes, readNearest, toBlob } from "./SqliteNearest.js"
import { makeVectorReader, type VectorReader, type VectorReaderOptions } from "./VectorReader.js"
import {
  type EmbeddingModel,
  EXACT_SCAN_LIMIT,
  type NearestQuery,
  prepareStore,
  readMetaValue,
  readStoredModel,
  recordMetaValue,
  recordModel,
  stateAgainst,
  type VectorEntry,
  VectorStore,
  type VectorStoreApi
} from "./VectorStore.js"

/**
 * The VectorStore on SQLite, with sqlite-vec.
 *
 * Every vector is stored exactly (float32) in `item_embeddings`, keyed by `search_items.item_key`
 * and grouped by owner (app/project/user/kind). A search over an owner with at most
 * `EXACT_SCAN_LIMIT` items scores all of them exactly with sqlite-vec's cosine distance. Bigger
 * owners are searched in two stages: a scan of 1-bit codes (sqlite-vec `vec0` `bit[N]` table
 * `item_vectors`, each owner's codes in CODE_SHARDS partitions; ~30x less to read than floats)
 * picks candidates, which are then re-scored exactly. The code table's width is the model's, so it
 * is created at runtime, never by a migration; a database whose codes were laid out otherwise
 * (`code_layout` in search_meta) gets them rebuilt from the stored vectors at startup.
 */

const make = (options: SqliteVectorStoreOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Whether this connection has sqlite-vec (Database loads it when it can); fixed per process.
    const extension = yield* sql`SELECT vec_version() AS version`.pipe(
      Effect.as(Option.none<string>()),
      Effect.catchAll((error) => Effect.succeed(Option.some(`the sqlite-vec extension is not loaded (${error.message})`)))
    )
    const storedModel = readStoredModel(sql)
    // Nearest-neighbour reads on their own thread, when there is a file it can open and sqlite-vec to read with.
    const file = Option.isSome(extension) ? Option.none() : yield* Effect.serviceOption(DatabaseFile)
    const reader = options.readerThread === false || Option.isNone(file)
      ? Option.none<VectorReader>()
      : Option.some(yield* makeVectorReader(file.value, options.reader))

    const storedVectors = sql<{ n: number }>`SELECT COUNT(*) AS n FROM item_embeddings`.pipe(Effect.map((rows) => rows[0]?.n ?? 0))

    /** Inside a transaction: the code table, rebuilt from the stored vectors unless it has the current layout. */
    const ensureCodeTable = (dimensions: number) =>
      Effect.gen(function*() {
        if (!hasCodes(dimensions)) return
        const create = `CREATE VIRTUAL TABLE IF NOT EXISTS ${CODE_TABLE} USING vec0(owner TEXT PARTITION KEY, embedding BIT[${dimensions}])`
        const layout = yield* readMetaValue(sql, "code_layout")
        if (Option.contains(layout, CODE_LAYOUT)) {
          yield* sql.unsafe(create)
          return
        }
        const began = yield* Clock.currentTimeMillis
        yield* sql.unsafe(`DROP TABLE IF EXISTS ${CODE_TABLE}`)
        yield* sql.unsafe(create)
        yield* sql.unsafe(`INSERT INTO ${CODE_TABLE} (rowid, owner, embedding)
                           SELECT item_key, ${codeOwnerSql}, vec_quantize_binary(embedding) FROM item_embeddings`)
        yield* recordMetaValue(sql, "code_layout", CODE_LAYOUT)
        const rebuilt = yield* storedVectors
        if (rebuilt > 0) yield* Effect.logInfo(`binary codes of ${rebuilt} vectors rebuilt (layout ${CODE_LAYOUT}) in ${(yield* Clock.currentTimeMillis) - began} ms`)
      })

    const state = Effect.fn("VectorStore.state")(function*(wanted: EmbeddingModel) {
      return stateAgainst(extension, wanted, yield* storedModel.pipe(withBusyRetry("read embedding model")))
    })

    /** Inside a transaction: drops every vector and starts over with `wanted`. */
    const resetTo = (wanted: EmbeddingModel) =>
      Effect.gen(function*() {
        yield* sql.unsafe(`DROP TABLE IF EXISTS ${CODE_TABLE}`)
        yield* sql`DELETE FROM item_embeddings`
        yield* sql`DELETE FROM vector_garbage`
        yield* ensureCodeTable(wanted.dimensions)
        yield* recordModel(sql, wanted)
      })

    const prepare = Effect.fn("VectorStore.prepare")((wanted: EmbeddingModel) =>
      prepareStore(sql, extension, wanted, { before: Effect.void, resetTo, ensureTables: ensureCodeTable })
    )

    const reset = (wanted: EmbeddingModel) => resetTo(wanted)

    const replace = (entries: ReadonlyArray<VectorEntry>, dimensions: number) =>
      Effect.gen(function*() {
        if (entries.length === 0) return
        const keys = entries.map((e) => e.item_key)
        const live = new Set(
          (yield* sql<{ item_key: number }>`SELECT item_key FROM search_items WHERE ${sql.in("item_key", keys)}`).map((row) => row.item_key)
        )
        yield* sql`DELETE FROM item_embeddings WHERE ${sql.in("item_key", keys)}`
        const fresh = entries.filter((e) => live.has(e.item_key))
        if (fresh.length > 0) {
          yield* sql`INSERT INTO item_embeddings ${
            sql.insert(fresh.map((e) => ({ item_key: e.item_key, owner: e.owner, embedding: toBlob(e.vector) })))
          }`
        }
        if (!hasCodes(dimensions)) return
        for (const entry of entries) {
          const key = BigInt(entry.item_key)
          yield* sql`DELETE FROM ${sql.literal(CODE_TABLE)} WHERE rowid = ${key}`
          if (!live.has(entry.item_key)) continue
          yield* sql`INSERT INTO ${sql.literal(CODE_TABLE)} (rowid, owner, embedding)
                     VALUES (${key}, ${codeOwner(entry.owner, entry.item_key)}, vec_quantize_binary(${toBlob(entry.vector)}))`
        }
      })

    /** Inside the caller's transaction: deletes the binary codes of items that went away. */
    const purgeGarbage = (dimensions: number) =>
      Effect.gen(function*() {
        const keys = yield* sql<{ item_key: number }>`SELECT item_key FROM vector_garbage LIMIT 10000`
        if (keys.length === 0) return 0
        if (hasCodes(dimensions)) {
          for (const { item_key } of keys) yield* sql`DELETE FROM ${sql.literal(CODE_TABLE)} WHERE rowid = ${BigInt(item_key)}`
        }
        yield* sql`DELETE FROM vector_garbage WHERE ${sql.in("item_key", keys.map((k) => k.item_key))}`
        return keys.length
      })

    /**
     * Sends one nearest-neighbour read to a reader thread now, when there is one, and gives its
     * answer to await; what no thread can answer is read here instead, by the same SQL.
     */
    const sendRead = (owner: string, vector: Float32Array, k: number, dimensions: number, exactScanLimit: number) => {
      const here = readNearest(sql, owner, vector, k, dimensions, exactScanLimit)
      return Option.isNone(reader)
        ? Effect.succeed(here)
        : Effect.map(reader.value.send(owner, vector, k, dimensions, exactScanLimit), (answer) => Effect.catchAll(answer, () => here))
    }

    /**
     * The `k` vectors of `owner` (from `vectorOwner`) nearest to `vector` by cosine, nearest first:
     * exact for owners up to EXACT_SCAN_LIMIT items, else binary candidates re-scored exactly. On a
     * database file, read on the reader thread when it can answer, else here.
     */
    const nearest = Effect.fn("VectorStore.nearest")(function*(
      owner: string,
      vector: Float32Array,
      k: number,
      dimensions: number,
      exactScanLimit: number = EXACT_SCAN_LIMIT
    ) {
      return yield* yield* sendRead(owner, vector, k, dimensions, exactScanLimit)
    })

    const nearestEach = Effect.fn("VectorStore.nearestEach")(function*(
      queries: ReadonlyArray<NearestQuery>,
      vector: Float32Array,
      dimensions: number
    ) {
      // Every read is sent before any answer is awaited.
      const answers = yield* Effect.forEach(queries, ({ k, owner }) => sendRead(owner, vector, k, dimensions, EXACT_SCAN_LIMIT))
      return yield* Effect.all(answers)
    })

    /** Vectors stored (for reembed progress and tests). */
    const count = storedVectors.pipe(withBusyRetry("count vectors"))

    const store: VectorStoreApi = { store: "sqlite-vec", extension, state, prepare, reset, replace, purgeGarbage, nearest, nearestEach, count }
    return store
  })

export interface SqliteVectorStoreOptions {
  /** Read nearest neighbours of a database file on a thread (default true; in-memory databases always read in-process). */
  readonly readerThread?: boolean
  readonly reader?: VectorReaderOptions
}

/** VectorStore on SQLite (sqlite-vec). */
export const SqliteVectorStore = Layer.scoped(VectorStore, make({}))

/** The same with its reader thread configured (tests, benchmarks). */
export const sqliteVectorStoreWith = (options: SqliteVectorStoreOptions) => Layer.scoped(VectorStore, make(options))
