import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Postgres twin of ../0008_agent_track.ts (epoch milliseconds as BIGINT; REAL as DOUBLE PRECISION, since
 * Postgres REAL is 4-byte and would round the scores SQLite stores as 8-byte floats).
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE agent_cases (
      case_id TEXT PRIMARY KEY,
      memcell_id TEXT NOT NULL,
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      agent_id TEXT NOT NULL,
      task_intent TEXT NOT NULL,
      approach TEXT NOT NULL,
      key_insight TEXT NOT NULL,
      outcome TEXT NOT NULL,
      quality_score DOUBLE PRECISION NOT NULL,
      message_ids TEXT NOT NULL,
      timestamp BIGINT NOT NULL,
      created_at BIGINT NOT NULL,
      extractor TEXT NOT NULL
    )`
  yield* sql`CREATE INDEX agent_cases_by_agent ON agent_cases (app_id, project_id, agent_id, timestamp)`
  yield* sql`CREATE INDEX agent_cases_by_memcell ON agent_cases (memcell_id)`
  yield* sql`
    CREATE TABLE agent_skills (
      skill_id TEXT PRIMARY KEY,
      app_id TEXT NOT NULL,
      project_id TEXT NOT NULL,
      agent_id TEXT NOT NULL,
      name TEXT NOT NULL,
      intent TEXT NOT NULL,
      description TEXT NOT NULL,
      steps TEXT NOT NULL,
      pitfalls TEXT NOT NULL,
      confidence DOUBLE PRECISION NOT NULL,
      confirmations INTEGER NOT NULL,
      contradictions INTEGER NOT NULL,
      version INTEGER NOT NULL,
      builder TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    )`
  yield* sql`CREATE INDEX agent_skills_by_agent ON agent_skills (app_id, project_id, agent_id, updated_at)`
  yield* sql`
    CREATE TABLE agent_skill_cases (
      skill_id TEXT NOT NULL,
      case_id TEXT NOT NULL,
      PRIMARY KEY (skill_id, case_id)
    )`
  yield* sql`CREATE INDEX agent_skill_cases_by_case ON agent_skill_cases (case_id)`
})
