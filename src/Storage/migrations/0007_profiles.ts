import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * User profiles: one row per (app, project, user), its items as JSON text, and a version that
 * every write bumps (a compare-and-set, so two processes never fold over each other's result).
 * `profile_memcells` records which memcells a profile was built from: a memcell is folded in
 * exactly once, and deleting a memcell finds the profiles that rested on it.
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
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (app_id, project_id, user_id)
    )`
  yield* sql`
    CREATE TABLE profile_memcells (
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      memcell_id TEXT NOT NULL,
      folded_at INTEGER NOT NULL,
      PRIMARY KEY (app_id, project_id, user_id, memcell_id)
    )`
  yield* sql`CREATE INDEX profile_memcells_by_memcell ON profile_memcells (memcell_id)`
})
