import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Derived memory and the durable outbox of extraction jobs. A job is inserted in the same
 * transaction as its memcell, so a memcell can never exist without its jobs; derived rows carry
 * ids computed from their job, so re-running a job replaces rather than duplicates.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE extraction_jobs (
      job_id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      memcell_id TEXT NOT NULL,
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      status TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      run_after INTEGER NOT NULL,
      lease_owner TEXT,
      lease_until INTEGER,
      last_error TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`
  yield* sql`CREATE INDEX extraction_jobs_ready ON extraction_jobs (status, run_after)`
  yield* sql`CREATE INDEX extraction_jobs_by_memcell ON extraction_jobs (memcell_id)`
  yield* sql`CREATE INDEX extraction_jobs_by_session ON extraction_jobs (app_id, project_id, session_id, status)`
  yield* sql`
    CREATE TABLE episodes (
      episode_id TEXT PRIMARY KEY,
      memcell_id TEXT NOT NULL,
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      title TEXT NOT NULL,
      content TEXT NOT NULL,
      summary TEXT NOT NULL,
      sender_ids TEXT NOT NULL,
      message_ids TEXT NOT NULL,
      timestamp INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      extractor TEXT NOT NULL
    )`
  yield* sql`CREATE INDEX episodes_by_user ON episodes (app_id, project_id, user_id, timestamp)`
  yield* sql`CREATE INDEX episodes_by_memcell ON episodes (memcell_id)`
  yield* sql`
    CREATE TABLE atomic_facts (
      fact_id TEXT PRIMARY KEY,
      episode_id TEXT NOT NULL,
      memcell_id TEXT NOT NULL,
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      content TEXT NOT NULL,
      message_ids TEXT NOT NULL,
      timestamp INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      extractor TEXT NOT NULL
    )`
  yield* sql`CREATE INDEX atomic_facts_by_user ON atomic_facts (app_id, project_id, user_id, timestamp)`
  yield* sql`CREATE INDEX atomic_facts_by_memcell ON atomic_facts (memcell_id)`
  yield* sql`CREATE INDEX atomic_facts_by_episode ON atomic_facts (episode_id)`
  yield* sql`
    CREATE TABLE foresight (
      foresight_id TEXT PRIMARY KEY,
      memcell_id TEXT NOT NULL,
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      content TEXT NOT NULL,
      start_time INTEGER NOT NULL,
      end_time INTEGER,
      evidence TEXT NOT NULL,
      message_ids TEXT NOT NULL,
      timestamp INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      extractor TEXT NOT NULL
    )`
  yield* sql`CREATE INDEX foresight_by_user ON foresight (app_id, project_id, user_id, start_time)`
  yield* sql`CREATE INDEX foresight_by_memcell ON foresight (memcell_id)`
})
