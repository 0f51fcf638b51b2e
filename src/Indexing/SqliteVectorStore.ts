import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { withBusyRetry } from "../Storage/Database.js"

/**
 * Item vectors and the record of which model made them.
 *
 * Every vector is stored exactly (float32) in `item_embeddings`, keyed by `search_items.item_key`
 * and grouped by owner (app/project/user/kind). A search over an owner with at most
 * `EXACT_SCAN_LIMIT` items scores all of them exactly with sqlite-vec's cosine distance. Bigger
 * owners are searched in two stages: a scan of 1-bit codes (sqlite-vec `vec0` `bit[N]` table
 * `item_vectors`, partitioned by owner; ~30x less to read than floats) picks candidates, which are
 * then re-scored exactly. The code table's width is the model's, so it is created at runtime,
 * never by a migration. `search_meta` records the model and width; a different configured model
 * is refused (never mixed) until `reset` (reembed).
 */

export const CODE_TABLE = "item_vectors"
export type VectorKind = "episode" | "fact"

/** Owners with at most this many items of a kind are scored exactly, without the binary stage. */
export const EXACT_SCAN_LIMIT = 5000
/** Binary candidates re-scored per wanted neighbour (vec0's top-k cost grows with k, so modest). */
export const CANDIDATES_PER_NEIGHBOUR = 2
/** vec0 answers at most this many neighbours per query. */
const MAX_VEC0_K = 4096

/** The model and width stored vectors were made with. */
export interface EmbeddingModel {
  readonly model: string
  readonly dimensions: number
}

export type VectorState =
  | { readonly _tag: "Ready" }
  | { readonly _tag: "Mismatch"; readonly stored: EmbeddingModel }
  | { readonly _tag: "Unavailable"; readonly reason: string }

export interface VectorEntry {
  readonly item_key: number
  /** From `vectorOwner`. */
  readonly owner: string
  readonly vector: Float32Array
}

export interface Neighbour {
  readonly item_key: number
  /** Cosine distance (0 = same direction, 2 = opposite). */
  readonly distance: number
}

/** The group a vector is searched in: one owner's items of one kind (ids never contain "/"). */
export const vectorOwner = (appId: string, projectId: string, ownerId: string, kind: VectorKind) =>
  `${appId}/${projectId}/${ownerId}/${kind}`

/** Binary codes need a width divisible by 8; other widths are always scored exactly. */
const hasCodes = (dimensions: number) => dimensions % 8 === 0

const toBlob = (vector: Float32Array) => new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength)

const MetaRows = Schema.Array(Schema.Struct({ key: Schema.String, value: Schema.String }))
const NeighbourRows = Schema.Array(Schema.Struct({ item_key: Schema.Number, distance: Schema.Number }))

export class VectorStore extends Effect.Service<VectorStore>()("engram/VectorStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Whether this connection has sqlite-vec (Database loads it when it can); fixed per process.
    // Postgres: vectors would live in pgvector, which this store does not use yet, so vector and
    // hybrid search answer CAPABILITY_UNAVAILABLE there while keyword search works.
    const extension = yield* sql.onDialectOrElse({
      pg: () => Effect.succeed(Option.some("vector search is not available on Postgres yet (no pgvector store); use method keyword")),
      orElse: () =>
        sql`SELECT vec_version() AS version`.pipe(
          Effect.as(Option.none<string>()),
          Effect.catchAll((error) => Effect.succeed(Option.some(`the sqlite-vec extension is not loaded (${error.message})`)))
        )
    })

    const storedModel = Effect.gen(function*() {
      const rows = yield* Schema.decodeUnknown(MetaRows)(
        yield* sql`SELECT key, value FROM search_meta WHERE key IN ('embed_model', 'embed_dimensions')`
      ).pipe(Effect.orDie)
      const model = rows.find((r) => r.key === "embed_model")?.value
      const dimensions = Number(rows.find((r) => r.key === "embed_dimensions")?.value)
      return model === undefined || !Number.isInteger(dimensions) ? Option.none<EmbeddingModel>() : Option.some({ model, dimensions })
    })

    const createCodeTable = (dimensions: number) =>
      hasCodes(dimensions)
        ? sql.unsafe(`CREATE VIRTUAL TABLE IF NOT EXISTS ${CODE_TABLE} USING vec0(owner TEXT PARTITION KEY, embedding BIT[${dimensions}])`)
        : Effect.void

    const recordModel = (wanted: EmbeddingModel) =>
      sql`INSERT INTO search_meta (key, value) VALUES ('embed_model', ${wanted.model}), ('embed_dimensions', ${String(wanted.dimensions)})
          ON CONFLICT (key) DO UPDATE SET value = excluded.value`

    const stateAgainst = (wanted: EmbeddingModel, stored: Option.Option<EmbeddingModel>): VectorState => {
      if (Option.isSome(extension)) return { _tag: "Unavailable", reason: extension.value }
      if (Option.isNone(stored)) return { _tag: "Unavailable", reason: "no vectors have been set up yet" }
      return stored.value.model === wanted.model && stored.value.dimensions === wanted.dimensions
        ? { _tag: "Ready" }
        : { _tag: "Mismatch", stored: stored.value }
    }

    /** Whether vectors of `wanted` can be read and written now (another process may have re-embedded). */
    const state = Effect.fn("VectorStore.state")(function*(wanted: EmbeddingModel) {
      return stateAgainst(wanted, yield* storedModel.pipe(withBusyRetry("read embedding model")))
    })

    /** Inside a transaction: drops every vector and starts over with `wanted`. */
    const resetTo = (wanted: EmbeddingModel) =>
      Effect.gen(function*() {
        yield* sql.unsafe(`DROP TABLE IF EXISTS ${CODE_TABLE}`)
        yield* sql`DELETE FROM item_embeddings`
        yield* sql`DELETE FROM vector_garbage`
        yield* createCodeTable(wanted.dimensions)
        yield* recordModel(wanted)
      })

    /**
     * Startup with an embedder configured: the first model sets up and is recorded; the same
     * model finds its tables; another model leaves everything as it is (state Mismatch).
     */
    const prepare = Effect.fn("VectorStore.prepare")(function*(wanted: EmbeddingModel) {
      if (Option.isSome(extension)) return { _tag: "Unavailable", reason: extension.value } as VectorState
      const setUp = Effect.gen(function*() {
        const stored = yield* storedModel
        if (Option.isNone(stored)) {
          yield* resetTo(wanted)
          return { _tag: "Ready" } as VectorState
        }
        const current = stateAgainst(wanted, stored)
        if (current._tag === "Ready") yield* createCodeTable(wanted.dimensions)
        return current
      })
      return yield* sql.withTransaction(setUp).pipe(withBusyRetry("prepare vectors"))
    })

    /** Re-embedding: drops every vector and records `wanted` (inside the caller's transaction). */
    const reset = (wanted: EmbeddingModel) => resetTo(wanted)

    /**
     * Inside the caller's transaction (whose model check passed): stores each entry's vector under
     * its key, replacing an older one, but only for keys that still exist (the item may have
     * changed while it was being embedded).
     */
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

    return { extension, state, prepare, reset, replace, purgeGarbage, nearest, count } as const
  })
}) {}

/** Why vectors cannot be used, with what to do about it (for CAPABILITY_UNAVAILABLE and logs). */
export const vectorStateHint = (state: VectorState, wanted: EmbeddingModel): string => {
  switch (state._tag) {
    case "Ready":
      return "vectors are ready"
    case "Mismatch":
      return `stored vectors were made by model '${state.stored.model}' (${state.stored.dimensions} dimensions) but the configured model is '${wanted.model}' (${wanted.dimensions} dimensions); widths are never mixed: run \`engram reembed\` to re-embed everything with the configured model`
    case "Unavailable":
      return state.reason
  }
}
