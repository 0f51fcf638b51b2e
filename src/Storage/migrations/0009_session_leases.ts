import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Session leases: which node may ask the boundary detector about a session's buffer, until when
 * (epoch milliseconds of the database's clock). Only Postgres uses it (see Memorize/SessionLease.ts):
 * a SQLite file has one writer machine, where the in-process lock is enough. The table is created
 * here too so both engines keep one schema (export, import and the migration list stay alike).
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE session_leases (
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      owner TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      PRIMARY KEY (app_id, project_id, session_id)
    )`
})
