import { PGlite } from "@electric-sql/pglite"
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm"
import { vector } from "@electric-sql/pglite-pgvector"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Redacted, type Scope } from "effect"
import * as Database from "../../src/Storage/Database.js"
import { configLayer } from "./MemoryTestLayer.js"

/**
 * A real Postgres with pgvector for tests: PGlite (Postgres 18 compiled to WebAssembly, in this
 * process, in memory) with pgvector and pg_trgm, served over the wire protocol on a free port of
 * 127.0.0.1 by PGLiteSocketServer, so the application talks to it through @effect/sql-pg exactly
 * as to a server. Nothing is downloaded: the extensions ship inside the npm packages.
 *
 * PGlite is one session. The socket server queues the protocol messages of all its connections
 * into it, so two busy connections could interleave one statement's Parse/Bind/Execute: the pool
 * gets one connection (ENGRAM_DATABASE_MAX_CONNECTIONS=1) and the application gets only the
 * SqlClient, not PgClient, so it opens no LISTEN connection (its workers poll, as they do whenever
 * notifications are missing). The server admits one connection more than the pool uses, so a
 * pooled connection replaced after idling is never refused while the old one is still closing.
 */
export const POOL_CONNECTIONS = 1
const SERVER_CONNECTIONS = POOL_CONNECTIONS + 1

/** Starts PGlite and its socket server; the URL is `postgres://postgres@127.0.0.1:PORT/postgres`. */
export const pgliteServer: Effect.Effect<{ readonly url: string }, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(async () => {
    const db = await PGlite.create({ extensions: { vector, pg_trgm } })
    const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: SERVER_CONNECTIONS })
    await server.start()
    return { db, server, url: `postgres://postgres@${server.getServerConn()}/postgres` }
  }),
  ({ db, server }) => Effect.promise(async () => {
    await server.stop()
    await db.close()
  })
)

/** Hides PgClient (which the Postgres layer also provides): no LISTEN connection, see above. */
const sqlClientOnly = <E>(database: Layer.Layer<SqlClient.SqlClient, E>): Layer.Layer<SqlClient.SqlClient, E> =>
  Layer.effect(SqlClient.SqlClient, SqlClient.SqlClient).pipe(Layer.provide(database))

/** ENGRAM_* settings of a fresh PGlite database with pgvector (alive while the scope is open). */
export const pgliteEnv: Effect.Effect<Record<string, string>, never, Scope.Scope> = Effect.map(pgliteServer, ({ url }) => ({
  ENGRAM_DATABASE_URL: url,
  ENGRAM_DATABASE_MAX_CONNECTIONS: String(POOL_CONNECTIONS)
}))

/**
 * A fresh, migrated PGlite database with pgvector, stopped when the layer's scope closes; opened
 * as the application opens any database: `Database.layerConfig` reading the ENGRAM_* settings.
 */
export const pgliteDatabase: Layer.Layer<SqlClient.SqlClient> = Layer.unwrapScoped(
  Effect.map(pgliteEnv, (env) => sqlClientOnly(Database.layerConfig.pipe(Layer.provide(configLayer(env)), Layer.orDie)))
)

/** The PGlite database at `url` (from `pgliteServer`): for layers built one after another on one database. */
export const pgliteDatabaseAt = (url: string): Layer.Layer<SqlClient.SqlClient> =>
  sqlClientOnly(Database.layerPostgres(Redacted.make(url), { maxConnections: POOL_CONNECTIONS }))
