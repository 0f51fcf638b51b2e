import { Schema } from "effect"

/**
 * The rows of derived memory as stored (`DerivedRepo` writes them; get and search read them):
 * one schema per row shape, and one mapping from a row to the view clients see.
 */

const JsonIds = Schema.parseJson(Schema.Array(Schema.String))

/** An `episodes` row. */
export const EpisodeRow = Schema.Struct({
  episode_id: Schema.String,
  memcell_id: Schema.String,
  app_id: Schema.String,
  project_id: Schema.String,
  session_id: Schema.String,
  user_id: Schema.String,
  title: Schema.String,
  content: Schema.String,
  summary: Schema.String,
  sender_ids: JsonIds,
  message_ids: JsonIds,
  timestamp: Schema.Number,
  created_at: Schema.Number
})
export type EpisodeRow = typeof EpisodeRow.Type

/** The columns of `EpisodeRow`, for a SELECT. */
export const EPISODE_COLUMNS =
  "episode_id, memcell_id, app_id, project_id, session_id, user_id, title, content, summary, sender_ids, message_ids, timestamp, created_at"

/** An `atomic_facts` row. */
export const FactRow = Schema.Struct({
  fact_id: Schema.String,
  episode_id: Schema.String,
  memcell_id: Schema.String,
  session_id: Schema.String,
  user_id: Schema.String,
  content: Schema.String,
  message_ids: JsonIds,
  timestamp: Schema.Number,
  created_at: Schema.Number
})
export type FactRow = typeof FactRow.Type

/** The columns of `FactRow`, for a SELECT. */
export const FACT_COLUMNS = "fact_id, episode_id, memcell_id, session_id, user_id, content, message_ids, timestamp, created_at"

/** A `foresight` row. */
export const ForesightRow = Schema.Struct({
  foresight_id: Schema.String,
  memcell_id: Schema.String,
  session_id: Schema.String,
  user_id: Schema.String,
  content: Schema.String,
  start_time: Schema.Number,
  end_time: Schema.NullOr(Schema.Number),
  evidence: Schema.String,
  message_ids: JsonIds,
  timestamp: Schema.Number,
  created_at: Schema.Number
})
export type ForesightRow = typeof ForesightRow.Type

/** The columns of `ForesightRow`, for a SELECT. */
export const FORESIGHT_COLUMNS =
  "foresight_id, memcell_id, session_id, user_id, content, start_time, end_time, evidence, message_ids, timestamp, created_at"

/**
 * An episode as clients see it, showing `text` (get: the whole episode; search: the lines that
 * answer the query); what it nests is up to the reader.
 */
export const episodeView = (row: EpisodeRow, text: string) => ({
  id: row.episode_id,
  user_id: row.user_id,
  app_id: row.app_id,
  project_id: row.project_id,
  session_id: row.session_id,
  timestamp: row.timestamp,
  sender_ids: row.sender_ids,
  subject: row.title,
  summary: row.summary,
  episode: text,
  type: "episode" as const,
  memcell_id: row.memcell_id,
  message_ids: row.message_ids
})
