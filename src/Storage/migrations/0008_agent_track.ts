import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The agent track. A case is derived from one memcell for one agent sender (its id from both, so
 * a re-run replaces it). A skill is a cluster of cases with similar intent and the procedure
 * distilled from them; `agent_skill_cases` links it to its source cases (deleting a case finds the
 * skills built from it), and `version` makes every skill write a compare-and-set.
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
      quality_score REAL NOT NULL,
      message_ids TEXT NOT NULL,
      timestamp INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
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
      confidence REAL NOT NULL,
      confirmations INTEGER NOT NULL,
      contradictions INTEGER NOT NULL,
      version INTEGER NOT NULL,
      builder TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
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
