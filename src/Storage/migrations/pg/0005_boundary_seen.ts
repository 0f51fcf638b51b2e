import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Postgres twin of ../0005_boundary_seen.ts. */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE messages ADD COLUMN boundary_seen INTEGER NOT NULL DEFAULT 0`
})
