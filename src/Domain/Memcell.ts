import { Schema } from "effect"
import { ScopeId } from "./Message.js"

/** A closed segment of a session's conversation: the unit every later stage works on. */
export const Memcell = Schema.Struct({
  memcell_id: Schema.String,
  app_id: ScopeId,
  project_id: ScopeId,
  session_id: Schema.String,
  /** In conversation order. */
  message_ids: Schema.Array(Schema.String),
  /** In first-seen order. */
  sender_ids: Schema.Array(Schema.String),
  /** Timestamp of the cell's last message (epoch ms). */
  timestamp: Schema.Number,
  /** When the cell was committed (epoch ms). */
  created_at: Schema.Number
})
export type Memcell = typeof Memcell.Type

export const AddStatus = Schema.Literal("accumulated", "extracted")
export const FlushStatus = Schema.Literal("extracted", "no_extraction")

export const AddResult = Schema.Struct({
  /** Messages of the request that were new to the ledger (a retried add reports 0). */
  message_count: Schema.Number,
  status: AddStatus,
  memcell_ids: Schema.Array(Schema.String)
})
export type AddResult = typeof AddResult.Type

export const FlushResult = Schema.Struct({
  status: FlushStatus,
  memcell_ids: Schema.Array(Schema.String),
  /** Present when the flush waited for extraction: whether it finished within the wait. */
  extraction_complete: Schema.optional(Schema.Boolean)
})
export type FlushResult = typeof FlushResult.Type
