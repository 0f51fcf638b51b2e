import { Schema } from "effect"

/**
 * The shapes of the tracks beyond episodes: a user's profile and an agent's cases and skills, as
 * stored (the JSON columns) and as search and `get` answer with them.
 */

/** Source message ids an item rests on. */
const Evidence = Schema.Array(Schema.String)

/** Something the user said about themselves, in timeless wording. */
export const ExplicitInfo = Schema.Struct({
  category: Schema.String,
  description: Schema.String,
  evidence: Evidence
})
export type ExplicitInfo = typeof ExplicitInfo.Type

/** A trait inferred from several pieces of evidence. */
export const ImplicitTrait = Schema.Struct({
  trait: Schema.String,
  description: Schema.String,
  basis: Schema.String,
  evidence: Evidence
})
export type ImplicitTrait = typeof ImplicitTrait.Type

export const ExplicitInfoList = Schema.Array(ExplicitInfo)
export const ImplicitTraitList = Schema.Array(ImplicitTrait)

export const ProfileData = Schema.Struct({
  summary: Schema.String,
  explicit_info: ExplicitInfoList,
  implicit_traits: ImplicitTraitList,
  /** When the profile last changed (epoch ms). */
  profile_timestamp_ms: Schema.Number
})
export type ProfileData = typeof ProfileData.Type

/**
 * One user's profile. `builder` says how it was made: `llm` (folded in by the model), `facts`
 * (assembled offline from the user's atomic facts and foresight). `score` is null, as in EverOS:
 * a profile is not ranked against the query.
 */
export const ProfileItem = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  app_id: Schema.String,
  project_id: Schema.String,
  type: Schema.Literal("profile"),
  profile_data: ProfileData,
  builder: Schema.Literal("llm", "facts"),
  updated_at: Schema.Number,
  score: Schema.Null
})
export type ProfileItem = typeof ProfileItem.Type

/** One step of how an agent went about a task: what it did, and what came of it (verbatim where it matters). */
export const CaseStep = Schema.Struct({
  action: Schema.String,
  result: Schema.String
})
export type CaseStep = typeof CaseStep.Type
export const CaseSteps = Schema.Array(CaseStep)

export const AgentCaseItem = Schema.Struct({
  id: Schema.String,
  agent_id: Schema.String,
  app_id: Schema.String,
  project_id: Schema.String,
  session_id: Schema.String,
  type: Schema.Literal("agent_case"),
  task_intent: Schema.String,
  approach: CaseSteps,
  key_insight: Schema.String,
  outcome: Schema.String,
  /** 0..1: how well the task went (≥ 0.5 counts as a success). */
  quality_score: Schema.Number,
  memcell_id: Schema.String,
  message_ids: Schema.Array(Schema.String),
  timestamp: Schema.Number,
  /** Search only: relevance to the query; null in `get`. */
  score: Schema.NullOr(Schema.Number)
})
export type AgentCaseItem = typeof AgentCaseItem.Type

export const AgentSkillItem = Schema.Struct({
  id: Schema.String,
  agent_id: Schema.String,
  app_id: Schema.String,
  project_id: Schema.String,
  type: Schema.Literal("agent_skill"),
  name: Schema.String,
  description: Schema.String,
  /** The procedure, from successful cases. */
  steps: Schema.Array(Schema.String),
  /** What went wrong in failed cases. */
  pitfalls: Schema.Array(Schema.String),
  /** 0..0.95: rises with each confirming case, falls with each contradicting one. */
  confidence: Schema.Number,
  source_case_ids: Schema.Array(Schema.String),
  updated_at: Schema.Number,
  score: Schema.NullOr(Schema.Number)
})
export type AgentSkillItem = typeof AgentSkillItem.Type
