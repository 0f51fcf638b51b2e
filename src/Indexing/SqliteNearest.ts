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
export const CANDIDATES_PER_NEIGHBOUR = 2
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
 * exact for owners up to `exactScanLimit` items, else binary candidates re-scored exactly.
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
