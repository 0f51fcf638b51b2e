import type { SqlClient, SqlError } from "@effect/sql"
import { Context, Effect, Option, Schema } from "effect"
import type { StorageError } from "../Domain/Errors.js"
import { withBusyRetry } from "../Storage/Database.js"

/**
 * Item vectors and the record of which model made them: one interface, one implementation per
 * engine (SQLite: sqlite-vec, SqliteVectorStore.ts; Postgres: pgvector, PgVectorStore.ts), chosen
 * in the composition root. Both answer `nearest` with the same contract (cosine distance, nearest
 * first, only the owner's items), so vector candidates and hybrid fusion do not know which runs.
 * `search_meta` records the model and width; a different configured model is refused (never
 * mixed) until `reset` (reembed).
 */

export type VectorKind = "episode" | "fact"

/** Owners with at most this many items of a kind are scored exactly, without an approximate stage. */
export const EXACT_SCAN_LIMIT = 5000

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

export interface VectorStoreApi {
  /** The extension vectors live in (for /health). */
  readonly store: "sqlite-vec" | "pgvector"
  /** Why this database cannot hold vectors at all (its extension is missing); fixed per process. */
  readonly extension: Option.Option<string>
  /** Whether vectors of `wanted` can be read and written now (another process may have re-embedded). */
  readonly state: (wanted: EmbeddingModel) => Effect.Effect<VectorState, StorageError>
  /**
   * Startup with an embedder configured: the first model sets up and is recorded; the same
   * model finds its tables; another model leaves everything as it is (state Mismatch).
   */
  readonly prepare: (wanted: EmbeddingModel) => Effect.Effect<VectorState, StorageError>
  /** Re-embedding: drops every vector and records `wanted` (inside the caller's transaction). */
  readonly reset: (wanted: EmbeddingModel) => Effect.Effect<void, SqlError.SqlError>
  /**
   * Inside the caller's transaction (whose model check passed): stores each entry's vector under
   * its key, replacing an older one, but only for keys that still exist (the item may have
   * changed while it was being embedded).
   */
  readonly replace: (entries: ReadonlyArray<VectorEntry>, dimensions: number) => Effect.Effect<void, SqlError.SqlError>
  /** Inside the caller's transaction: drops what is left of items that went away; how many. */
  readonly purgeGarbage: (dimensions: number) => Effect.Effect<number, SqlError.SqlError>
  /**
   * The `k` vectors of `owner` (from `vectorOwner`) nearest to `vector` by cosine, nearest first:
   * exact for owners up to `exactScanLimit` items, else through the engine's approximate index.
   */
  readonly nearest: (
    owner: string,
    vector: Float32Array,
    k: number,
    dimensions: number,
    exactScanLimit?: number
  ) => Effect.Effect<ReadonlyArray<Neighbour>, StorageError>
  /**
   * `nearest` for several owners and one query vector, one answer per query in order, read at
   * once: on a SQLite file every read is sent to the reader thread in one step (so none waits for
   * the caller's next turn on the event loop), on Postgres concurrently.
   */
  readonly nearestEach: (
    queries: ReadonlyArray<NearestQuery>,
    vector: Float32Array,
    dimensions: number
  ) => Effect.Effect<ReadonlyArray<ReadonlyArray<Neighbour>>, StorageError>
  /** Vectors stored (for reembed progress and tests). */
  readonly count: Effect.Effect<number, StorageError>
}

/** One owner's read in `nearestEach`. */
export interface NearestQuery {
  readonly owner: string
  readonly k: number
}

export class VectorStore extends Context.Tag("engram/VectorStore")<VectorStore, VectorStoreApi>() {}

/** The group a vector is searched in: one owner's items of one kind (ids never contain "/"). */
export const vectorOwner = (appId: string, projectId: string, ownerId: string, kind: VectorKind) =>
  `${appId}/${projectId}/${ownerId}/${kind}`

const MetaRows = Schema.Array(Schema.Struct({ key: Schema.String, value: Schema.String }))

/** The model recorded in `search_meta`, if any (the same table and keys on both engines). */
export const readStoredModel = (sql: SqlClient.SqlClient) =>
  sql`SELECT key, value FROM search_meta WHERE key IN ('embed_model', 'embed_dimensions')`.pipe(
    Effect.flatMap(Schema.decodeUnknown(MetaRows)),
    Effect.orDie,
    Effect.map((rows) => {
      const model = rows.find((r) => r.key === "embed_model")?.value
      const dimensions = Number(rows.find((r) => r.key === "embed_dimensions")?.value)
      return model === undefined || !Number.isInteger(dimensions) ? Option.none<EmbeddingModel>() : Option.some({ model, dimensions })
    })
  )

/** One value of `search_meta`, if set (the same table on both engines). */
export const readMetaValue = (sql: SqlClient.SqlClient, key: string) =>
  sql`SELECT key, value FROM search_meta WHERE key = ${key}`.pipe(
    Effect.flatMap(Schema.decodeUnknown(MetaRows)),
    Effect.orDie,
    Effect.map((rows) => Option.fromNullable(rows[0]?.value))
  )

/** Sets one value of `search_meta`. */
export const recordMetaValue = (sql: SqlClient.SqlClient, key: string, value: string) =>
  sql`INSERT INTO search_meta (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`

/** Records `wanted` as the model of the stored vectors. */
export const recordModel = (sql: SqlClient.SqlClient, wanted: EmbeddingModel) =>
  sql`INSERT INTO search_meta (key, value) VALUES ('embed_model', ${wanted.model}), ('embed_dimensions', ${String(wanted.dimensions)})
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`

/** The state of vectors of `wanted`, given what the store lacks and which model is recorded. */
export const stateAgainst = (
  extension: Option.Option<string>,
  wanted: EmbeddingModel,
  stored: Option.Option<EmbeddingModel>
): VectorState => {
  if (Option.isSome(extension)) return { _tag: "Unavailable", reason: extension.value }
  if (Option.isNone(stored)) return { _tag: "Unavailable", reason: "no vectors have been set up yet" }
  return stored.value.model === wanted.model && stored.value.dimensions === wanted.dimensions
    ? { _tag: "Ready" }
    : { _tag: "Mismatch", stored: stored.value }
}

/** What a store does at startup, in its own SQL; `before` runs first in the transaction (e.g. a DDL lock). */
export interface StoreSetup {
  readonly before: Effect.Effect<void, SqlError.SqlError>
  /** Drops every vector and records `wanted`. */
  readonly resetTo: (wanted: EmbeddingModel) => Effect.Effect<void, SqlError.SqlError>
  /** The tables for vectors of `dimensions`, if missing. */
  readonly ensureTables: (dimensions: number) => Effect.Effect<void, SqlError.SqlError>
}

/**
 * Startup with an embedder configured, the same on both engines: the first model sets up and is
 * recorded; the same model finds its tables; another model leaves everything as it is (state
 * Mismatch, until `reembed`).
 */
export const prepareStore = (sql: SqlClient.SqlClient, extension: Option.Option<string>, wanted: EmbeddingModel, setup: StoreSetup) =>
  Effect.gen(function*() {
    if (Option.isSome(extension)) return { _tag: "Unavailable", reason: extension.value } as VectorState
    const setUp = Effect.gen(function*() {
      yield* setup.before
      const stored = yield* readStoredModel(sql)
      if (Option.isNone(stored)) {
        yield* setup.resetTo(wanted)
        return { _tag: "Ready" } as VectorState
      }
      const current = stateAgainst(extension, wanted, stored)
      if (current._tag === "Ready") yield* setup.ensureTables(wanted.dimensions)
      return current
    })
    return yield* sql.withTransaction(setUp).pipe(withBusyRetry("prepare vectors"))
  })

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
