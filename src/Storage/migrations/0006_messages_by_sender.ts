import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Listing a user's sessions reads only that user's messages: without this index it would scan
 * every message of the (app, project).
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX messages_by_sender ON messages (app_id, project_id, sender_id, session_id)`
})
