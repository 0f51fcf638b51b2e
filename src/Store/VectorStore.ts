import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { withBusyRetry } from "./Database.js"

/**
 * The sqlite-vec table of item vectors and the record of which model made them.
 *
 * `item_vectors` is a `vec0` table keyed by `search_items.item_key` (BigInt rowids; Float32
 * blobs), partitioned by owner (app/project/user) so a user's nearest-neighbour scan reads only
 * that user's vectors, with the item kind as a metadata column. Its width is the model's, so it is
 * created at runtime, never by a migration. `search_meta` holds the model and width; a different
 * configured model is refused (never mixed) until `reembed` resets the table.
 */

export const VECTOR_TABLE = "item_vectors"
export type VectorKind = "episode" | "fact"

/** vec0 answers at most this many neighbours per query. */
export const MAX_NEIGHBOURS = 4096

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
  readonly owner: string
  readonly kind: VectorKind
  readonly vector: Float32Array
}

export interface Neighbour {
  readonly item_key: number
  /** Cosine distance (0 = same direction, 2 = opposite). */
  readonly distance: number
}

/** The partition a user's vectors live in (ids never contain "/"). */
export const ownerKey = (appId: string, projectId: string, ownerId: string) => `${appId}/${projectId}/${ownerId}`

/**
 * Vectors per vec0 chunk. Each owner's partition allocates whole chunks, so small chunks keep a
 * user with a handful of memories cheap; ~96 KB per chunk (64 vectors of 384 floats).
 */
export const chunkSizeFor = (dimensions: number) => Math.max(8, Math.min(256, 8 * Math.floor(96 * 1024 / (dimensions * 4) / 8)))

const toBlob = (vector: Float32Array) => new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength)

const MetaRows = Schema.Array(Schema.Struct({ key: Schema.String, value: Schema.String }))
const NeighbourRows = Schema.Array(Schema.Struct({ item_key: Schema.Number, distance: Schema.Number }))

export class VectorStore extends Effect.Service<VectorStore>()("engram/VectorStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Whether this connection has sqlite-vec (Database loads it when it can); fixed per process.
    const extension = yield* sql`SELECT vec_version() AS version`.pipe(
      Effect.as(Option.none<string>()),
      Effect.catchAll((error) => Effect.succeed(Option.some(`the sqlite-vec extension is not loaded (${error.message})`)))
    )

    const storedModel = Effect.gen(function*() {
      const rows = yield* Schema.decodeUnknown(MetaRows)(
        yield* sql`SELECT key, value FROM search_meta WHERE key IN ('embed_model', 'embed_dimensions')`
      ).pipe(Effect.orDie)
      const model = rows.find((r) => r.key === "embed_model")?.value
      const dimensions = Number(rows.find((r) => r.key === "embed_dimensions")?.value)
      return model === undefined || !Number.isInteger(dimensions) ? Option.none<EmbeddingModel>() : Option.some({ model, dimensions })
    })

    const createTable = (dimensions: number) =>
      sql.unsafe(`CREATE VIRTUAL TABLE IF NOT EXISTS ${VECTOR_TABLE} USING vec0(
        owner TEXT PARTITION KEY, kind TEXT, embedding FLOAT[${dimensions}] distance_metric=cosine,
        chunk_size=${chunkSizeFor(dimensions)})`)

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

    /**
     * Startup with an embedder configured: the first model creates the table and is recorded; the
     * same model finds it; another model leaves everything as it is (state Mismatch).
     */
    const prepare = Effect.fn("VectorStore.prepare")(function*(wanted: EmbeddingModel) {
      if (Option.isSome(extension)) return { _tag: "Unavailable", reason: extension.value } as VectorState
      const setUp = Effect.gen(function*() {
        const stored = yield* storedModel
        if (Option.isNone(stored)) {
          yield* sql.unsafe(`DROP TABLE IF EXISTS ${VECTOR_TABLE}`)
          yield* createTable(wanted.dimensions)
          yield* recordModel(wanted)
          return { _tag: "Ready" } as VectorState
        }
        const current = stateAgainst(wanted, stored)
        if (current._tag === "Ready") yield* createTable(wanted.dimensions)
        return current
      })
      return yield* sql.withTransaction(setUp).pipe(withBusyRetry("prepare vectors"))
    })

    /** Re-embedding: drops every vector and starts over with `wanted` (inside the caller's transaction). */
    const reset = (wanted: EmbeddingModel) =>
      Effect.gen(function*() {
        yield* sql.unsafe(`DROP TABLE IF EXISTS ${VECTOR_TABLE}`)
        yield* createTable(wanted.dimensions)
        yield* recordModel(wanted)
        yield* sql`DELETE FROM vector_garbage`
      })

    /**
     * Inside the caller's transaction: stores each entry's vector under its key, replacing an older
     * one, but only for keys that still exist (the item may have changed while it was embedded).
     */
    const replace = (entries: ReadonlyArray<VectorEntry>) =>
      Effect.gen(function*() {
        if (entries.length === 0) return
        const live = new Set(
          (yield* sql<{ item_key: number }>`SELECT item_key FROM search_items WHERE ${sql.in("item_key", entries.map((e) => e.item_key))}`)
            .map((row) => row.item_key)
        )
        for (const entry of entries) {
          const key = BigInt(entry.item_key)
          yield* sql`DELETE FROM ${sql.literal(VECTOR_TABLE)} WHERE rowid = ${key}`
          if (!live.has(entry.item_key)) continue
          yield* sql`INSERT INTO ${sql.literal(VECTOR_TABLE)} (rowid, owner, kind, embedding)
                     VALUES (${key}, ${entry.owner}, ${entry.kind}, ${toBlob(entry.vector)})`
        }
      })

    /** Inside the caller's transaction: deletes the vectors of items that went away. */
    const purgeGarbage = Effect.gen(function*() {
      const keys = yield* sql<{ item_key: number }>`SELECT item_key FROM vector_garbage LIMIT 10000`
      if (keys.length === 0) return 0
      for (const { item_key } of keys) yield* sql`DELETE FROM ${sql.literal(VECTOR_TABLE)} WHERE rowid = ${BigInt(item_key)}`
      yield* sql`DELETE FROM vector_garbage WHERE ${sql.in("item_key", keys.map((k) => k.item_key))}`
      return keys.length
    })

    /** The `k` vectors of `owner`'s items of `kind` nearest to `vector` (cosine), nearest first. */
    const nearest = Effect.fn("VectorStore.nearest")(function*(owner: string, kind: VectorKind, vector: Float32Array, k: number) {
      const rows = yield* sql`
        SELECT rowid AS item_key, distance FROM ${sql.literal(VECTOR_TABLE)}
        WHERE embedding MATCH ${toBlob(vector)} AND k = ${Math.max(1, Math.min(MAX_NEIGHBOURS, k))}
          AND owner = ${owner} AND kind = ${kind}
        ORDER BY distance`.pipe(withBusyRetry("nearest vectors"))
      return (yield* Schema.decodeUnknown(NeighbourRows)(rows).pipe(Effect.orDie)) as ReadonlyArray<Neighbour>
    })

    /** Vectors stored (for reembed progress and tests). */
    const count = sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql.literal(VECTOR_TABLE)}`.pipe(
      Effect.map((rows) => rows[0]?.n ?? 0),
      Effect.catchAll(() => Effect.succeed(0))
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
