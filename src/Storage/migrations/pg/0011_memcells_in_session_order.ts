import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Postgres twin of ../0011_memcells_in_session_order.ts. */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP INDEX memcells_by_session`
  yield* sql`CREATE INDEX memcells_by_session ON memcells (app_id, project_id, session_id, timestamp)`
})
