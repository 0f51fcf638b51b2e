import { Schema } from "effect"
import { DEFAULT_SCOPE_ID, ScopeId, SenderId, SessionId } from "./Message.js"

export const MAX_DELETE_MEMCELLS = 500

const DeleteFields = Schema.Struct({
  app_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  project_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  user_id: Schema.optional(SenderId),
  session_id: Schema.optional(SessionId),
  memcell_ids: Schema.optional(
    Schema.Array(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256))).pipe(
      Schema.minItems(1, { message: () => "must contain at least 1 memcell id" }),
      Schema.maxItems(MAX_DELETE_MEMCELLS, { message: () => `must contain at most ${MAX_DELETE_MEMCELLS} memcell ids` })
    )
  )
}).annotations({ parseOptions: { onExcessProperty: "error" } })

/**
 * `POST /memory/delete`: what to forget within one (app, project). Given criteria narrow each other
 * (user + session = that user's memory in that session); at least one is required, so an empty
 * request can never mean "everything".
 */
export const DeleteRequest = DeleteFields.pipe(
  Schema.filter((request) =>
    request.user_id === undefined && request.session_id === undefined && request.memcell_ids === undefined
      ? { path: ["user_id"], message: "one of user_id, session_id or memcell_ids is required" }
      : undefined
  ),
  Schema.annotations({ identifier: "DeleteRequest" })
)
export type DeleteRequest = typeof DeleteRequest.Type

/** How many rows of each kind a delete removed. */
export const DeleteCounts = Schema.Struct({
  messages: Schema.Number,
  memcells: Schema.Number,
  episodes: Schema.Number,
  atomic_facts: Schema.Number,
  foresight: Schema.Number,
  jobs: Schema.Number
})
export type DeleteCounts = typeof DeleteCounts.Type
