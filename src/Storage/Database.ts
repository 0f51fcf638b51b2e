import { SqlClient, type SqlError } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Context, Effect, Layer, Option, type Redacted, Schedule } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as SqliteVec from "sqlite-vec"
import { DatabaseMaxConnectionsConfig, DatabaseUrlConfig, DataDirConfig } from "../Config/EngramConfig.js"
import { StorageError } from "../Domain/Errors.js"
import { runMigrations } from "./Migrations.js"
import * as Postgres from "./Postgres.js"

/**
 * The SQLite file behind a database layer's connection, as an absolute path. Provided only by
 * `layerFile` and read as optional (`Effect.serviceOption`), like PgClient: what only a database
 * file has, a reader thread opening it beside the main connection.
 */
export class DatabaseFile extends Context.Tag("engram/DatabaseFile")<DatabaseFile, string>() {}

/** What a database layer provides: repos depend on the engine-neutral client only. */
export type SqlLayerServices = SqlClient.SqlClient

/** Name of the database file inside the data directory. */
export const DATABASE_FILE = "engram.db"

/**
 * `PRAGMA synchronous` of every connection: FULL (2). test/Storage/Durability.test.ts reads it back
 * from the connections the application opens.
 */
export const DURABLE_SYNCHRONOUS = "FULL"

/**
 * `PRAGMA mmap_size` of every connection (SQLite caps it at its build's 2 GB): reads of the file
 * map its pages instead of copying each into the page cache, which a search reads a lot of (the
 * binary codes of a big owner, FTS doclists); at 100k episodes about a third of the vector
 * reads' time. Writes still go through SQLite's own I/O.
 */
export const MMAP_BYTES = 2 ** 31

const mapped = Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`PRAGMA mmap_size = ${MMAP_BYTES}`))

const pragmas = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // Another process may hold the write lock briefly (two servers on one file): wait for it.
  yield* sql.unsafe("PRAGMA busy_timeout = 5000")
  // WAL (set by the client) plus FULL: every commit fsyncs the WAL before it returns, so what was
  // acknowledged survives an OS crash or a power loss, not only a process crash (NORMAL would not).
  // Group commit (Memorize/WriteBatcher) shares that fsync among concurrent requests.
  yield* sql.unsafe(`PRAGMA synchronous = ${DURABLE_SYNCHRONOUS}`)
  yield* sql.unsafe("PRAGMA foreign_keys = ON")
  yield* mapped
})

/**
 * sqlite-vec (vector search) in every connection: a small library shipped inside its npm package,
 * loaded in about a millisecond. Engram works without it (keyword search only), so a platform
 * without the binary gets a warning and vector search answers CAPABILITY_UNAVAILABLE.
 */
const loadVectorExtension = Effect.gen(function*() {
  const client = yield* SqliteClient.SqliteClient
  const path = yield* Effect.try(() => SqliteVec.getLoadablePath())
  yield* client.loadExtension(path)
}).pipe(
  Effect.catchAll((error) => Effect.logWarning(`sqlite-vec not loaded, vector search unavailable: ${String(error.cause ?? error)}`))
)

const opened = <E>(setup: Effect.Effect<void, E, SqlClient.SqlClient | SqliteClient.SqliteClient>) =>
  Layer.effectDiscard(
    setup.pipe(Effect.mapError((cause) => new StorageError({ operation: "open database", reason: String(cause) })))
  )

const migrated = (client: Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient, unknown>): Layer.Layer<SqlLayerServices> =>
  Layer.merge(
    opened(Effect.zipRight(Effect.zipRight(pragmas, loadVectorExtension), runMigrations)),
    Layer.effect(SqlClient.SqlClient, SqlClient.SqlClient)
  ).pipe(Layer.provide(client), Layer.orDie)

/** A database file at `filename` (created with its directory). Also provides DatabaseFile. */
export const layerFile = (filename: string): Layer.Layer<SqlLayerServices> =>
  Layer.merge(migrated(
    Layer.unwrapEffect(
      Effect.sync(() => {
        Fs.mkdirSync(Path.dirname(Path.resolve(filename)), { recursive: true })
        return SqliteClient.layer({ filename })
      })
    )
  ), Layer.succeed(DatabaseFile, Path.resolve(filename)))

/**
 * A read-only connection to the database file at `filename`, with sqlite-vec, for a reader
 * thread beside the process that opened (and migrated) it; WAL lets it read while that one writes.
 */
export const layerReadOnlyFile = (filename: string): Layer.Layer<SqlLayerServices, StorageError> =>
  Layer.merge(
    opened(Effect.zipRight(Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.zipRight(sql.unsafe("PRAGMA busy_timeout = 5000"), mapped)), loadVectorExtension)),
    Layer.effect(SqlClient.SqlClient, SqlClient.SqlClient)
  ).pipe(Layer.provide(Layer.orDie(SqliteClient.layer({ filename, readonly: true }))))

/** A private in-memory database: for tests and throwaway runs. */
export const layerMemory: Layer.Layer<SqlLayerServices> = migrated(
  SqliteClient.layer({ filename: ":memory:" })
)

/**
 * The Postgres database at `url` (migrated on open; nodes sharing it migrate it once). Durability
 * is Postgres' own `synchronous_commit = on` (its default, which we rely on and do not change):
 * a commit returns after its WAL record is flushed, the counterpart of SQLite's FULL above. The
 * group commit's savepoints work unchanged on Postgres (SAVEPOINT/ROLLBACK TO). Also
 * provides PgClient, read as optional by what only Postgres has (LISTEN/NOTIFY between nodes).
 */
export const layerPostgres = (
  url: Redacted.Redacted,
  pool: Postgres.PoolOptions = Postgres.DEFAULT_POOL
): Layer.Layer<SqlLayerServices | PgClient.PgClient> =>
  Layer.effectDiscard(
    runMigrations.pipe(Effect.mapError((cause) => new StorageError({ operation: "open database", reason: String(cause) })))
  ).pipe(Layer.provideMerge(Postgres.clientLayer(url, pool)), Layer.orDie)

/** Postgres when ENGRAM_DATABASE_URL is set, else `$ENGRAM_DATA_DIR/engram.db`. */
export const layerConfig = Layer.unwrapEffect(
  Effect.map(
    Effect.all([DatabaseUrlConfig, DatabaseMaxConnectionsConfig, DataDirConfig]),
    ([url, maxConnections, dir]) =>
      Option.match(url, {
        onSome: (url) => layerPostgres(url, { maxConnections }),
        onNone: () => layerFile(Path.join(dir, DATABASE_FILE))
      })
  )
)

/** Postgres: serialization failure and deadlock (the loser is rolled back and may simply retry). */
const PG_RETRYABLE = new Set(["40001", "40P01"])

export const isBusy = (error: SqlError.SqlError): boolean => {
  const code = (error.cause as { code?: unknown } | undefined)?.code
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || PG_RETRYABLE.has(code))
}

/**
 * Retries a write when another process holds the database lock past the busy timeout (Postgres:
 * lost a serialization or deadlock check), with
 * jittered backoff and a limit; any other SQL failure becomes a typed StorageError.
 */
export const withBusyRetry = (operation: string) =>
<A, E, R>(effect: Effect.Effect<A, E | SqlError.SqlError, R>): Effect.Effect<A, Exclude<E, SqlError.SqlError> | StorageError, R> =>
  effect.pipe(
    Effect.retry({
      schedule: Schedule.exponential("20 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(6))),
      while: (error) => isSqlError(error) && isBusy(error)
    }),
    Effect.catchIf(isSqlError, (error) =>
      Effect.fail(new StorageError({ operation, reason: error.message + describeCause(error.cause) })))
  ) as Effect.Effect<A, Exclude<E, SqlError.SqlError> | StorageError, R>

export const isSqlError = (error: unknown): error is SqlError.SqlError =>
  typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "SqlError"

const describeCause = (cause: unknown): string =>
  cause instanceof Error ? `: ${cause.message}` : ""
