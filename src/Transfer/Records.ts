import { Schema } from "effect"
import { JobKind } from "../Domain/Job.js"
import { MessageContent, Role, ScopeId, ToolCalls } from "../Domain/Message.js"

/**
 * The lines of an export (JSON Lines): a header, then every message (with the memcell that
 * consumed it, if any), memcell, episode, fact and foresight of the scope, one per line, as
 * stored. Vectors are not exported: `engram reembed` rebuilds them. Every field is what the
 * database holds, with the JSON text columns (content, tool calls, id lists) as JSON values.
 */

export const EXPORT_FORMAT_VERSION = 1

const Ids = Schema.Array(Schema.String)

export const ExportScope = Schema.Struct({ app_id: ScopeId, project_id: ScopeId })
export type ExportScope = typeof ExportScope.Type

export const HeaderLine = Schema.TaggedStruct("engram_export", {
  version: Schema.Literal(EXPORT_FORMAT_VERSION),
  exported_at: Schema.Number,
  /** null: everything. */
  scope: Schema.NullOr(ExportScope)
})

const messageFields = {
  app_id: ScopeId,
  project_id: ScopeId,
  message_id: Schema.String,
  session_id: Schema.String,
  sender_id: Schema.String,
  sender_name: Schema.NullOr(Schema.String),
  role: Role,
  timestamp: Schema.Number,
  content: MessageContent,
  tool_calls: Schema.NullOr(ToolCalls),
  tool_call_id: Schema.NullOr(Schema.String),
  fingerprint: Schema.String,
  token_count: Schema.Number,
  received_at: Schema.Number,
  memcell_id: Schema.NullOr(Schema.String),
  boundary_seen: Schema.Literal(0, 1, 2)
}
export const MessageLine = Schema.TaggedStruct("message", messageFields)
export type MessageLine = typeof MessageLine.Type

const memcellFields = {
  memcell_id: Schema.String,
  app_id: ScopeId,
  project_id: ScopeId,
  session_id: Schema.String,
  message_ids: Ids,
  sender_ids: Ids,
  timestamp: Schema.Number,
  created_at: Schema.Number
}
export const MemcellLine = Schema.TaggedStruct("memcell", {
  ...memcellFields,
  /** Extraction jobs not done at export time: the importer enqueues them again. */
  pending_jobs: Schema.Array(JobKind)
})
export type MemcellLine = typeof MemcellLine.Type

const derivedScope = {
  memcell_id: Schema.String,
  app_id: ScopeId,
  project_id: ScopeId,
  session_id: Schema.String,
  user_id: Schema.String,
  message_ids: Ids,
  timestamp: Schema.Number,
  created_at: Schema.Number,
  extractor: Schema.String
}
const episodeFields = {
  episode_id: Schema.String,
  ...derivedScope,
  title: Schema.String,
  content: Schema.String,
  summary: Schema.String,
  sender_ids: Ids
}
export const EpisodeLine = Schema.TaggedStruct("episode", episodeFields)
export type EpisodeLine = typeof EpisodeLine.Type

const factFields = { fact_id: Schema.String, episode_id: Schema.String, ...derivedScope, content: Schema.String }
export const FactLine = Schema.TaggedStruct("fact", factFields)
export type FactLine = typeof FactLine.Type

const foresightFields = {
  foresight_id: Schema.String,
  ...derivedScope,
  content: Schema.String,
  start_time: Schema.Number,
  end_time: Schema.NullOr(Schema.Number),
  evidence: Schema.String
}
export const ForesightLine = Schema.TaggedStruct("foresight", foresightFields)
export type ForesightLine = typeof ForesightLine.Type

/** Any line of an export; decoded from its JSON text on import. */
export const ExportLine = Schema.Union(HeaderLine, MessageLine, MemcellLine, EpisodeLine, FactLine, ForesightLine)
export type ExportLine = typeof ExportLine.Type
export const ExportLineFromJson = Schema.parseJson(ExportLine)

/** Database rows, with their JSON text columns parsed (what the export reads). */
const json = <A, I>(schema: Schema.Schema<A, I>) => Schema.parseJson(schema)
export const MessageRow = Schema.Struct({
  ...messageFields,
  content: json(MessageContent),
  tool_calls: Schema.NullOr(json(ToolCalls))
})
export const MemcellRow = Schema.Struct({ ...memcellFields, message_ids: json(Ids), sender_ids: json(Ids) })
export const EpisodeRow = Schema.Struct({ ...episodeFields, message_ids: json(Ids), sender_ids: json(Ids) })
export const FactRow = Schema.Struct({ ...factFields, message_ids: json(Ids) })
export const ForesightRow = Schema.Struct({ ...foresightFields, message_ids: json(Ids) })
