import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Postgres twin of ../0002_extraction.ts. */
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
      run_after BIGINT NOT NULL,
      lease_owner TEXT,
      lease_until BIGINT,
      last_error TEXT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    )`
  yield* sql`CREATE INDEX extraction_jobs_ready ON extraction_jobs (status, run_after)`
  yield* sql`CREATE INDEX extraction_jobs_by_memcell ON extraction_jobs (memcell_id)`
  yield* sql`CREATE INDEX extraction_jobs_by_session ON extraction_jobs (app_id, project_id, session_id, status)`
  yield* sql`
    CREATE TABLE episodes (
      rowid BIGSERIAL UNIQUE,
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
      timestamp BIGINT NOT NULL,
      created_at BIGINT NOT NULL,
      extractor TEXT NOT NULL
    )`
  yield* sql`CREATE INDEX episodes_by_user ON episodes (app_id, project_id, user_id, timestamp)`
  yield* sql`CREATE INDEX episodes_by_memcell ON episodes (memcell_id)`
  yield* sql`
    CREATE TABLE atomic_facts (
      rowid BIGSERIAL UNIQUE,
      fact_id TEXT PRIMARY KEY,
      episode_id TEXT NOT NULL,
      memcell_id TEXT NOT NULL,
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      content TEXT NOT NULL,
      message_ids TEXT NOT NULL,
      timestamp BIGINT NOT NULL,
      created_at BIGINT NOT NULL,
      extractor TEXT NOT NULL
    )`
  yield* sql`CREATE INDEX atomic_facts_by_user ON atomic_facts (app_id, project_id, user_id, timestamp)`
  yield* sql`CREATE INDEX atomic_facts_by_memcell ON atomic_facts (memcell_id)`
  yield* sql`CREATE INDEX atomic_facts_by_episode ON atomic_facts (episode_id)`
  yield* sql`
    CREATE TABLE foresight (
      rowid BIGSERIAL UNIQUE,
      foresight_id TEXT PRIMARY KEY,
      memcell_id TEXT NOT NULL,
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      content TEXT NOT NULL,
      start_time BIGINT NOT NULL,
      end_time BIGINT,
      evidence TEXT NOT NULL,
      message_ids TEXT NOT NULL,
      timestamp BIGINT NOT NULL,
      created_at BIGINT NOT NULL,
      extractor TEXT NOT NULL
    )`
  yield* sql`CREATE INDEX foresight_by_user ON foresight (app_id, project_id, user_id, start_time)`
  yield* sql`CREATE INDEX foresight_by_memcell ON foresight (memcell_id)`
})
