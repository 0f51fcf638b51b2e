import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option, Schema } from "effect"
import { withBusyRetry } from "../Storage/Database.js"
import {
  type EmbeddingModel,
  EXACT_SCAN_LIMIT,
  type Neighbour,
  prepareStore,
  readStoredModel,
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
 * `item_vectors`, partitioned by owner; ~30x less to read than floats) picks candidates, which are
 * then re-scored exactly. The code table's width is the model's, so it is created at runtime,
 * never by a migration.
 */

export const CODE_TABLE = "item_vectors"

/** Binary candidates re-scored per wanted neighbour (vec0's top-k cost grows with k, so modest). */
export const CANDIDATES_PER_NEIGHBOUR = 2
/** vec0 answers at most this many neighbours per query. */
const MAX_VEC0_K = 4096

/** Binary codes need a width divisible by 8; other widths are always scored exactly. */
const hasCodes = (dimensions: number) => dimensions % 8 === 0

const toBlob = (vector: Float32Array) => new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength)

const NeighbourRows = Schema.Array(Schema.Struct({ item_key: Schema.Number, distance: Schema.Number }))

const make = Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Whether this connection has sqlite-vec (Database loads it when it can); fixed per process.
    const extension = yield* sql`SELECT vec_version() AS version`.pipe(
      Effect.as(Option.none<string>()),
      Effect.catchAll((error) => Effect.succeed(Option.some(`the sqlite-vec extension is not loaded (${error.message})`)))
    )
    const storedModel = readStoredModel(sql)

    const createCodeTable = (dimensions: number) =>
      hasCodes(dimensions)
        ? sql.unsafe(`CREATE VIRTUAL TABLE IF NOT EXISTS ${CODE_TABLE} USING vec0(owner TEXT PARTITION KEY, embedding BIT[${dimensions}])`)
        : Effect.void

    const state = Effect.fn("VectorStore.state")(function*(wanted: EmbeddingModel) {
      return stateAgainst(extension, wanted, yield* storedModel.pipe(withBusyRetry("read embedding model")))
    })

    /** Inside a transaction: drops every vector and starts over with `wanted`. */
    const resetTo = (wanted: EmbeddingModel) =>
      Effect.gen(function*() {
        yield* sql.unsafe(`DROP TABLE IF EXISTS ${CODE_TABLE}`)
        yield* sql`DELETE FROM item_embeddings`
        yield* sql`DELETE FROM vector_garbage`
        yield* createCodeTable(wanted.dimensions)
        yield* recordModel(sql, wanted)
      })

    const prepare = Effect.fn("VectorStore.prepare")((wanted: EmbeddingModel) =>
      prepareStore(sql, extension, wanted, { before: Effect.void, resetTo, ensureTables: createCodeTable })
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
                     VALUES (${key}, ${entry.owner}, vec_quantize_binary(${toBlob(entry.vector)}))`
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

    const decodeNeighbours = (rows: ReadonlyArray<unknown>) =>
      Effect.map(Schema.decodeUnknown(NeighbourRows)(rows).pipe(Effect.orDie), (n): ReadonlyArray<Neighbour> => n)

    /**
     * The `k` vectors of `owner` (from `vectorOwner`) nearest to `vector` by cosine, nearest first:
     * exact for owners up to EXACT_SCAN_LIMIT items, else binary candidates re-scored exactly.
     */
    const nearest = Effect.fn("VectorStore.nearest")(function*(
      owner: string,
      vector: Float32Array,
      k: number,
      dimensions: number,
      exactScanLimit: number = EXACT_SCAN_LIMIT
    ) {
      const limit = Math.max(1, Math.min(MAX_VEC0_K, k))
      const blob = toBlob(vector)
      const size = (yield* sql<{ n: number }>`
        SELECT COUNT(*) AS n FROM (SELECT 1 FROM item_embeddings WHERE owner = ${owner} LIMIT ${exactScanLimit + 1}) AS n`.pipe(
        withBusyRetry("count vectors")
      ))[0]?.n ?? 0
      if (size <= exactScanLimit || !hasCodes(dimensions)) {
        return yield* decodeNeighbours(
          yield* sql`
            SELECT item_key, vec_distance_cosine(embedding, ${blob}) AS distance FROM item_embeddings
            WHERE owner = ${owner} ORDER BY distance LIMIT ${limit}`.pipe(withBusyRetry("nearest vectors"))
        )
      }
      return yield* decodeNeighbours(
        yield* sql`
          SELECT e.item_key AS item_key, vec_distance_cosine(e.embedding, ${blob}) AS distance
          FROM (SELECT rowid AS item_key FROM ${sql.literal(CODE_TABLE)}
                WHERE embedding MATCH vec_quantize_binary(${blob}) AND k = ${Math.min(MAX_VEC0_K, limit * CANDIDATES_PER_NEIGHBOUR)}
                  AND owner = ${owner}) AS c
          CROSS JOIN item_embeddings e ON e.item_key = c.item_key
          ORDER BY distance LIMIT ${limit}`.pipe(withBusyRetry("nearest vectors"))
      )
    })

    /** Vectors stored (for reembed progress and tests). */
    const count = sql<{ n: number }>`SELECT COUNT(*) AS n FROM item_embeddings`.pipe(
      Effect.map((rows) => rows[0]?.n ?? 0),
      withBusyRetry("count vectors")
    )

    const store: VectorStoreApi = { store: "sqlite-vec", extension, state, prepare, reset, replace, purgeGarbage, nearest, count }
    return store
  })

/** VectorStore on SQLite (sqlite-vec). */
export const SqliteVectorStore = Layer.effect(VectorStore, make)
