import type { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { withBusyRetry } from "../Storage/Database.js"
import type { Neighbour } from "./VectorStore.js"

/**
 * The nearest-neighbour read of SqliteVectorStore, on whichever connection runs it: the store's own
 * (in-process) or its reader thread's read-only one (VectorReader). One function, so both answer
 * the same rows by the same SQL.
 */

export const CODE_TABLE = "item_vectors"

/** Binary candidates re-scored per wanted neighbour (vec0's top-k cost grows with k, so modest). */
export const CANDIDATES_PER_NEIGHBOUR = 3

/**
 * An owner's binary codes are spread over this many partitions of the code table, by item key.
 * vec0's per-chunk top-k selection costs time per code times k, so one top-(k/S) read per
 * partition costs much less than one top-k read over them all (the union is re-scored exactly).
 */
export const CODE_SHARDS = 4

/** Partition `shard` (0 ≤ shard < CODE_SHARDS) of an owner's codes. */
const shardOf = (owner: string, shard: number) => `${owner}#${shard}`

/** The code-table partition of an item (see CODE_SHARDS); `codeOwnerSql` says the same in SQL. */
export const codeOwner = (owner: string, itemKey: number) => shardOf(owner, itemKey % CODE_SHARDS)

/** `codeOwner` in SQL, over columns `owner` and `item_key` (rebuilding codes from item_embeddings). */
export const codeOwnerSql = `owner || '#' || (item_key % ${CODE_SHARDS})`

/** The code table's layout, recorded in search_meta: a store that finds another one rebuilds the codes. */
export const CODE_LAYOUT = `owner-item_key-mod-${CODE_SHARDS}`

/** vec0 answers at most this many neighbours per query. */
const MAX_VEC0_K = 4096

/** Binary codes need a width divisible by 8; other widths are always scored exactly. */
export const hasCodes = (dimensions: number) => dimensions % 8 === 0

export const toBlob = (vector: Float32Array) => new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength)

export const NeighbourRows = Schema.Array(Schema.Struct({ item_key: Schema.Number, distance: Schema.Number }))

const decodeNeighbours = (rows: ReadonlyArray<unknown>) =>
  Effect.map(Schema.decodeUnknown(NeighbourRows)(rows).pipe(Effect.orDie), (n): ReadonlyArray<Neighbour> => n)

/**
 * The `k` vectors of `owner` (from `vectorOwner`) nearest to `vector` by cosine, nearest first:
 * exact for owners up to `exactScanLimit` items, else binary candidates (the best of each of the
 * owner's code partitions) re-scored exactly.
 */
export const readNearest = (
  sql: SqlClient.SqlClient,
  owner: string,
  vector: Float32Array,
  k: number,
  dimensions: number,
  exactScanLimit: number
) =>
  Effect.gen(function*() {
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
    const perShard = Math.min(MAX_VEC0_K, Math.ceil((limit * CANDIDATES_PER_NEIGHBOUR) / CODE_SHARDS))
    const shardCandidates = Array.from({ length: CODE_SHARDS }, (_, shard) =>
      sql`SELECT rowid AS item_key FROM ${sql.literal(CODE_TABLE)}
          WHERE embedding MATCH vec_quantize_binary(${blob}) AND k = ${perShard} AND owner = ${shardOf(owner, shard)}`)
    return yield* decodeNeighbours(
      yield* sql`
        SELECT e.item_key AS item_key, vec_distance_cosine(e.embedding, ${blob}) AS distance
        FROM (${sql.join(" UNION ALL ", false)(shardCandidates)}) AS c
        CROSS JOIN item_embeddings e ON e.item_key = c.item_key
        ORDER BY distance LIMIT ${limit}`.pipe(withBusyRetry("nearest vectors"))
    )
  })
