import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Postgres twin of ../0001_ledger.ts (same tables, columns and indexes). Epoch
 * milliseconds are BIGINT; `rowid` BIGSERIAL columns stand for SQLite's implicit rowid, so
 * "insertion order" reads the same on both engines.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE messages (
      seq BIGSERIAL PRIMARY KEY,
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      message_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      sender_id TEXT NOT NULL,
      sender_name TEXT,
      role TEXT NOT NULL,
      timestamp BIGINT NOT NULL,
      content TEXT NOT NULL,
      tool_calls TEXT,
      tool_call_id TEXT,
      fingerprint TEXT NOT NULL,
      token_count INTEGER NOT NULL,
      received_at BIGINT NOT NULL,
      memcell_id TEXT
    )`
  yield* sql`CREATE UNIQUE INDEX messages_identity ON messages (app_id, project_id, message_id)`
  yield* sql`
    CREATE INDEX messages_buffer ON messages (app_id, project_id, session_id, timestamp, seq)
    WHERE memcell_id IS NULL`
  yield* sql`CREATE INDEX messages_by_memcell ON messages (memcell_id) WHERE memcell_id IS NOT NULL`
  yield* sql`
    CREATE TABLE memcells (
      rowid BIGSERIAL UNIQUE,
      memcell_id TEXT PRIMARY KEY,
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      message_ids TEXT NOT NULL,
      sender_ids TEXT NOT NULL,
      timestamp BIGINT NOT NULL,
      created_at BIGINT NOT NULL
    )`
  yield* sql`CREATE INDEX memcells_by_session ON memcells (app_id, project_id, session_id)`
})
