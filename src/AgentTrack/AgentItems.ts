import type { AgentCaseItem, AgentSkillItem } from "../Domain/TrackItems.js"
import type { CaseRow, SkillRow } from "./AgentRepo.js"

/** Stored cases and skills as clients see them. */

export const caseItem = (row: CaseRow, score: number | null): AgentCaseItem => ({
  id: row.case_id,
  agent_id: row.agent_id,
  app_id: row.app_id,
  project_id: row.project_id,
  session_id: row.session_id,
  type: "agent_case",
  task_intent: row.task_intent,
  approach: row.approach,
  key_insight: row.key_insight,
  outcome: row.outcome,
  quality_score: row.quality_score,
  memcell_id: row.memcell_id,
  message_ids: row.message_ids,
  timestamp: row.timestamp,
  score
})

export const skillItem = (row: SkillRow, sources: ReadonlyArray<string>, score: number | null): AgentSkillItem => ({
  id: row.skill_id,
  agent_id: row.agent_id,
  app_id: row.app_id,
  project_id: row.project_id,
  type: "agent_skill",
  name: row.name,
  description: row.description,
  steps: row.steps,
  pitfalls: row.pitfalls,
  confidence: row.confidence,
  source_case_ids: sources,
  updated_at: row.updated_at,
  score
})

/** The text a case is found by. */
export const caseText = (row: CaseRow) =>
  [row.task_intent, row.key_insight, row.outcome, ...row.approach.map((s) => s.action)].join("\n")

export const skillText = (row: SkillRow) => [row.name, row.intent, row.description, ...row.steps].join("\n")
