import { Schema } from "effect"
import { PageFields } from "./GetRequest.js"
import { DEFAULT_SCOPE_ID, ScopeId, SenderId } from "./Message.js"

/**
 * A page of the sessions a user took part in (sent at least one message), within one (app,
 * project), most recently active first. Unknown keys are refused, as in `GetRequest`.
 */
export const SessionsRequest = Schema.Struct({
  user_id: SenderId,
  app_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  project_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  ...PageFields
}).annotations({ identifier: "SessionsRequest", parseOptions: { onExcessProperty: "error" } })
export type SessionsRequest = typeof SessionsRequest.Type

/** One session of the user; the counts are of the user's own messages in it. */
export const UserSession = Schema.Struct({
  session_id: Schema.String,
  /** Messages the user sent in this session. */
  user_messages: Schema.Number,
  /** Of those, how many are still buffered (in no memcell yet: not yet extracted). */
  user_messages_buffered: Schema.Number,
  /** Epoch ms of the user's first and last message in this session. */
  first_timestamp: Schema.Number,
  last_timestamp: Schema.Number
})
export type UserSession = typeof UserSession.Type

export const SessionsResult = Schema.Struct({
  sessions: Schema.Array(UserSession),
  /** Sessions of the user across all pages. */
  total_count: Schema.Number,
  count: Schema.Number,
  page: Schema.Number,
  page_size: Schema.Number
})
export type SessionsResult = typeof SessionsResult.Type
