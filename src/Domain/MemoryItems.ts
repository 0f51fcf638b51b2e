import { Schema } from "effect"
import { AgentCaseItem, AgentSkillItem, ProfileItem } from "./TrackItems.js"

/** The shapes `POST /memory/get` answers with (epoch-ms times, provenance ids on every item). */

/** A fact as nested under its episode. */
export const NestedAtomicFact = Schema.Struct({
  id: Schema.String,
  content: Schema.String,
  message_ids: Schema.Array(Schema.String)
})

export const EpisodeItem = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  app_id: Schema.String,
  project_id: Schema.String,
  session_id: Schema.String,
  timestamp: Schema.Number,
  sender_ids: Schema.Array(Schema.String),
  subject: Schema.String,
  summary: Schema.String,
  episode: Schema.String,
  type: Schema.Literal("episode"),
  memcell_id: Schema.String,
  message_ids: Schema.Array(Schema.String),
  atomic_facts: Schema.Array(NestedAtomicFact)
})
export type EpisodeItem = typeof EpisodeItem.Type

export const AtomicFactItem = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  session_id: Schema.String,
  timestamp: Schema.Number,
  content: Schema.String,
  episode_id: Schema.String,
  memcell_id: Schema.String,
  message_ids: Schema.Array(Schema.String)
})
export type AtomicFactItem = typeof AtomicFactItem.Type

export const ForesightItem = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  session_id: Schema.String,
  content: Schema.String,
  start_time: Schema.Number,
  /** Null when open-ended. */
  end_time: Schema.NullOr(Schema.Number),
  evidence: Schema.String,
  memcell_id: Schema.String,
  message_ids: Schema.Array(Schema.String)
})
export type ForesightItem = typeof ForesightItem.Type

/** Every list is always present; only the requested type is filled. */
export const GetResult = Schema.Struct({
  episodes: Schema.Array(EpisodeItem),
  atomic_facts: Schema.Array(AtomicFactItem),
  foresight: Schema.Array(ForesightItem),
  profiles: Schema.Array(ProfileItem),
  agent_cases: Schema.Array(AgentCaseItem),
  agent_skills: Schema.Array(AgentSkillItem),
  /** Items matching the request across all pages. */
  total_count: Schema.Number,
  /** Items on this page. */
  count: Schema.Number,
  page: Schema.Number,
  page_size: Schema.Number
})
export type GetResult = typeof GetResult.Type
