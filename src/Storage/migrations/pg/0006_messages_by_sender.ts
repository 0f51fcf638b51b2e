import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Postgres twin of ../0006_messages_by_sender.ts. */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX messages_by_sender ON messages (app_id, project_id, sender_id, session_id)`
})
