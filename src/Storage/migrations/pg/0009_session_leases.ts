import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Postgres twin of ../0009_session_leases.ts (epoch milliseconds as BIGINT). */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE session_leases (
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      owner TEXT NOT NULL,
      expires_at BIGINT NOT NULL,
      PRIMARY KEY (app_id, project_id, session_id)
    )`
})
