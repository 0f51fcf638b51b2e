import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Search shows the message just across a memcell boundary (the neighbouring memcell of the same
 * session, by time): the session index gains the memcell's time so that lookup is one index step.
 * It replaces the old index, whose queries it serves as a prefix, so writes pay nothing more.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP INDEX memcells_by_session`
  yield* sql`CREATE INDEX memcells_by_session ON memcells (app_id, project_id, session_id, timestamp)`
})
