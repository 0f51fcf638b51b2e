import { SqlClient, type SqlError } from "@effect/sql"
import { Effect, Layer, Option, Schema } from "effect"
import { isSqlError, withBusyRetry } from "../Storage/Database.js"
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
 * The VectorStore on Postgres, with pgvector.
 *
 * Vectors live in `item_vectors (item_key, owner, embedding vector(d))`, one row per item version
 * (`search_items.item_key`), with an HNSW index over cosine distance. Its DDL runs at startup and
 * on reembed, not in a migration: the `vector` type exists only where the extension does (the
 * migrations must run on any Postgres), and the column's width is the configured model's, known
 * only at runtime (the same reason SQLite's code table is created at runtime). Nodes starting
 * together serialize that DDL on a transaction-scoped advisory lock.
 *
 * `item_key` references `search_items` ON DELETE CASCADE: the search triggers that drop an item's
 * key (forget, delete, re-extraction) drop its vector in the same transaction, so nothing is
 * left to purge but the `vector_garbage` log the triggers also write.
 *
 * Search: owners with at most EXACT_SCAN_LIMIT items are scored exactly (a materialized scan of
 * the owner's rows: the planner cannot swap in the approximate index); bigger owners go through
 * HNSW filtered by owner, with pgvector's iterative scan (0.8+) so the filter never leaves fewer
 * than `k` results. Widths HNSW cannot index (over 2000) are always scored exactly.
 */

const TABLE = "item_vectors"
/** pgvector's HNSW limit for `vector` columns. */
const HNSW_MAX_DIMENSIONS = 2000
/** Candidates HNSW keeps per query (pgvector's `hnsw.ef_search`, at most 1000): a few per wanted neighbour. */
const EF_SEARCH_PER_NEIGHBOUR = 2
const MIN_EF_SEARCH = 40
const MAX_EF_SEARCH = 1000

const ExtensionRows = Schema.Array(Schema.Struct({ installed_version: Schema.NullOr(Schema.String) }))
const NeighbourRows = Schema.Array(Schema.Struct({ item_key: Schema.Number, distance: Schema.Number }))
const CountRows = Schema.Array(Schema.Struct({ n: Schema.Number }))

const NOT_ON_SERVER =
  "the pgvector extension is not installed on the Postgres server: vector and hybrid search need it (install pgvector there, e.g. the postgresql-NN-pgvector package, then restart Engram and run `engram reembed`), or use method keyword"

/** Whether pgvector `version` (e.g. "0.8.1") has iterative index scans (0.8.0 and later). */
export const hasIterativeScan = (version: string): boolean => {
  const [major = 0, minor = 0] = version.split(".").map(Number)
  return major > 0 || minor >= 8
}

/** pgvector's text form of a vector: `[x,y,...]` (a float32 printed by JS reads back as the same float32). */
const vectorLiteral = (vector: Float32Array) => `[${Array.from(vector).join(",")}]`

const isUndefinedTable = (error: SqlError.SqlError) => (error.cause as { code?: unknown } | undefined)?.code === "42P01"

const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  /** Serializes vector DDL across nodes until the surrounding transaction ends. */
  const ddlLock = sql`SELECT pg_advisory_xact_lock(hashtext('engram/vector-ddl'))`

  const installedVersion = sql`SELECT installed_version FROM pg_available_extensions WHERE name = 'vector'`.pipe(
    Effect.flatMap((rows) => Effect.orDie(Schema.decodeUnknown(ExtensionRows)(rows)))
  )

  /**
   * At startup: pgvector's version when it is installed in this database, or installable (then
   * created here: CREATE EXTENSION needs the database owner's rights, or a superuser's), else why not.
   */
  const detect = Effect.gen(function*() {
    const available = yield* installedVersion
    if (available.length === 0) return { missing: Option.some(NOT_ON_SERVER), version: "" }
    if (available[0]!.installed_version === null) {
      yield* sql.withTransaction(Effect.zipRight(ddlLock, sql`CREATE EXTENSION IF NOT EXISTS vector`))
    }
    const version = (yield* installedVersion)[0]?.installed_version ?? null
    return version === null ? { missing: Option.some(NOT_ON_SERVER), version: "" } : { missing: Option.none<string>(), version }
  }).pipe(
    Effect.catchIf(isSqlError, (error) =>
      Effect.succeed({
        missing: Option.some(
          `pgvector is on the Postgres server but could not be enabled in this database (${error.message}): ask its owner to run CREATE EXTENSION vector, then restart Engram; or use method keyword`
        ),
        version: ""
      }))
  )
  const detected = yield* detect
  const extension = detected.missing
  const iterativeScan = hasIterativeScan(detected.version)
  if (Option.isSome(extension)) yield* Effect.logWarning(`vector search unavailable on Postgres: ${extension.value}`)

  const storedModel = readStoredModel(sql)
  const indexed = (dimensions: number) => dimensions <= HNSW_MAX_DIMENSIONS

  /** Inside a transaction holding `ddlLock`: the table (and index) for vectors of `dimensions`. */
  const createTable = (dimensions: number) =>
    Effect.gen(function*() {
      yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS ${TABLE} (
        item_key BIGINT PRIMARY KEY REFERENCES search_items (item_key) ON DELETE CASCADE,
        owner TEXT NOT NULL,
        embedding vector(${dimensions}) NOT NULL)`)
      yield* sql.unsafe(`CREATE INDEX IF NOT EXISTS ${TABLE}_by_owner ON ${TABLE} (owner)`)
      if (indexed(dimensions)) {
        yield* sql.unsafe(`CREATE INDEX IF NOT EXISTS ${TABLE}_hnsw ON ${TABLE} USING hnsw (embedding vector_cosine_ops)`)
      }
    })

  const state = Effect.fn("VectorStore.state")(function*(wanted: EmbeddingModel) {
    return stateAgainst(extension, wanted, yield* storedModel.pipe(withBusyRetry("read embedding model")))
  })

  /** Inside a transaction: drops every vector and starts over with `wanted`. */
  const resetTo = (wanted: EmbeddingModel) =>
    Effect.gen(function*() {
      yield* sql`DELETE FROM vector_garbage`
      // Without pgvector there is no table to make; the model is still recorded for when it comes.
      if (Option.isNone(extension)) {
        yield* ddlLock
        yield* sql.unsafe(`DROP TABLE IF EXISTS ${TABLE}`)
        yield* createTable(wanted.dimensions)
      }
      yield* recordModel(sql, wanted)
    })

  const prepare = Effect.fn("VectorStore.prepare")((wanted: EmbeddingModel) =>
    prepareStore(sql, extension, wanted, { before: ddlLock, resetTo, ensureTables: createTable })
  )

  const reset = (wanted: EmbeddingModel) => resetTo(wanted)

  const replace = (entries: ReadonlyArray<VectorEntry>, _dimensions: number) =>
    Effect.gen(function*() {
      if (entries.length === 0) return
      const keys = entries.map((e) => e.item_key)
      // FOR KEY SHARE: an item deleted concurrently waits for this transaction, then cascades to
      // the vector written here (never a vector for an item that is gone, never a failed insert).
      const live = new Set(
        (yield* sql<{ item_key: number }>`SELECT item_key FROM search_items WHERE ${sql.in("item_key", keys)} FOR KEY SHARE`).map((row) =>
          row.item_key
        )
      )
      yield* sql`DELETE FROM ${sql.literal(TABLE)} WHERE ${sql.in("item_key", keys)}`
      const fresh = entries.filter((e) => live.has(e.item_key))
      if (fresh.length === 0) return
      // The text form is typed by the column (vector), like any untyped parameter.
      yield* sql`INSERT INTO ${sql.literal(TABLE)} ${
        sql.insert(fresh.map((e) => ({ item_key: e.item_key, owner: e.owner, embedding: vectorLiteral(e.vector) })))
      }`
    })

  // Vectors went with their keys (ON DELETE CASCADE); only the triggers' log is left to clear.
  const purgeGarbage = (_dimensions: number) =>
    Effect.gen(function*() {
      const keys = yield* sql<{ item_key: number }>`SELECT item_key FROM vector_garbage LIMIT 10000`
      if (keys.length === 0) return 0
      yield* sql`DELETE FROM vector_garbage WHERE ${sql.in("item_key", keys.map((k) => k.item_key))}`
      return keys.length
    })

  const decodeNeighbours = (rows: ReadonlyArray<unknown>) =>
    Effect.map(Schema.decodeUnknown(NeighbourRows)(rows).pipe(Effect.orDie), (n): ReadonlyArray<Neighbour> => n)

  const nearest = Effect.fn("VectorStore.nearest")(function*(
    owner: string,
    vector: Float32Array,
    k: number,
    dimensions: number,
    exactScanLimit: number = EXACT_SCAN_LIMIT
  ) {
    const limit = Math.max(1, k)
    const query = vectorLiteral(vector)
    const size = (yield* sql<{ n: number }>`
      SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${sql.literal(TABLE)} WHERE owner = ${owner} LIMIT ${exactScanLimit + 1}) AS n`.pipe(
      withBusyRetry("count vectors")
    ))[0]?.n ?? 0
    if (size <= exactScanLimit || !indexed(dimensions)) {
      return yield* decodeNeighbours(
        yield* sql`
          WITH scored AS MATERIALIZED (
            SELECT item_key, embedding <=> ${query}::vector AS distance FROM ${sql.literal(TABLE)} WHERE owner = ${owner})
          SELECT item_key, distance FROM scored ORDER BY distance, item_key LIMIT ${limit}`.pipe(withBusyRetry("nearest vectors"))
      )
    }
    // The search settings hold for this transaction only (set_config(..., true)). Without a sort,
    // the planner reads the owner's rows in distance order from HNSW instead of scoring all of them
    // through the owner index (which it may otherwise prefer, not knowing HNSW's real cost).
    const efSearch = Math.min(MAX_EF_SEARCH, Math.max(MIN_EF_SEARCH, limit * EF_SEARCH_PER_NEIGHBOUR))
    const approximate = Effect.gen(function*() {
      yield* sql`SELECT set_config('hnsw.ef_search', ${String(efSearch)}, true), set_config('enable_sort', 'off', true)`
      if (iterativeScan) yield* sql`SELECT set_config('hnsw.iterative_scan', 'strict_order', true)`
      return yield* sql`
        SELECT item_key, embedding <=> ${query}::vector AS distance FROM ${sql.literal(TABLE)}
        WHERE owner = ${owner} ORDER BY embedding <=> ${query}::vector LIMIT ${iterativeScan ? limit : Math.min(limit, efSearch)}`
    })
    return yield* decodeNeighbours(yield* sql.withTransaction(approximate).pipe(withBusyRetry("nearest vectors")))
  })

  const count = Option.isSome(extension)
    ? Effect.succeed(0)
    : sql`SELECT COUNT(*) AS n FROM ${sql.literal(TABLE)}`.pipe(
      Effect.flatMap((rows) => Effect.orDie(Schema.decodeUnknown(CountRows)(rows))),
      Effect.map((rows) => rows[0]?.n ?? 0),
      // Not set up yet (no embedder has run on this database): no vectors.
      Effect.catchIf(isUndefinedTable, () => Effect.succeed(0)),
      withBusyRetry("count vectors")
    )

  const nearestEach: VectorStoreApi["nearestEach"] = (queries, vector, dimensions) =>
    Effect.forEach(queries, ({ k, owner }) => nearest(owner, vector, k, dimensions), { concurrency: "unbounded" })

  const store: VectorStoreApi = { store: "pgvector", extension, state, prepare, reset, replace, purgeGarbage, nearest, nearestEach, count }
  return store
})

/** VectorStore on Postgres (pgvector, when the server has it). */
export const PgVectorStore = Layer.effect(VectorStore, make)
