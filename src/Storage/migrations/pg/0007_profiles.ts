import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Postgres twin of ../0007_profiles.ts (epoch milliseconds as BIGINT; REAL as DOUBLE PRECISION, since
 * Postgres REAL is 4-byte and would round the scores SQLite stores as 8-byte floats).
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE profiles (
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      summary TEXT NOT NULL,
      explicit_info TEXT NOT NULL,
      implicit_traits TEXT NOT NULL,
      version INTEGER NOT NULL,
      builder TEXT NOT NULL,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY (app_id, project_id, user_id)
    )`
  yield* sql`
    CREATE TABLE profile_memcells (
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      memcell_id TEXT NOT NULL,
      folded_at BIGINT NOT NULL,
      PRIMARY KEY (app_id, project_id, user_id, memcell_id)
    )`
  yield* sql`CREATE INDEX profile_memcells_by_memcell ON profile_memcells (memcell_id)`
})
