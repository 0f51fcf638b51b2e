import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * What the boundary model already judged of a buffered message (0 unseen, 1 seen, 2 seen and its
 * topic looked finished), so the selective strategy never sends the same unchanged buffer twice,
 * across restarts too. Only a hint: losing it costs one more question, never a message.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE messages ADD COLUMN boundary_seen INTEGER NOT NULL DEFAULT 0`
})
