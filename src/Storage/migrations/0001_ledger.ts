import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The message ledger and memcells. A message is stored once per (app, project, message_id);
 * `memcell_id` is NULL while it is buffered and names its memcell once consumed, so "in exactly one
 * place" is a property of one column rather than of two tables kept in step.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE messages (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      message_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      sender_id TEXT NOT NULL,
      sender_name TEXT,
      role TEXT NOT NULL,
      timestamp INTEGER NOT NULL,
      content TEXT NOT NULL,
      tool_calls TEXT,
      tool_call_id TEXT,
      fingerprint TEXT NOT NULL,
      token_count INTEGER NOT NULL,
      received_at INTEGER NOT NULL,
      memcell_id TEXT
    )`
  yield* sql`CREATE UNIQUE INDEX messages_identity ON messages (app_id, project_id, message_id)`
  yield* sql`
    CREATE INDEX messages_buffer ON messages (app_id, project_id, session_id, timestamp, seq)
    WHERE memcell_id IS NULL`
  yield* sql`CREATE INDEX messages_by_memcell ON messages (memcell_id) WHERE memcell_id IS NOT NULL`
  yield* sql`
    CREATE TABLE memcells (
      memcell_id TEXT PRIMARY KEY,
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      message_ids TEXT NOT NULL,
      sender_ids TEXT NOT NULL,
      timestamp INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    )`
  yield* sql`CREATE INDEX memcells_by_session ON memcells (app_id, project_id, session_id)`
})
