import { Schema } from "effect"
import { Filters, FilterTimestamp } from "./Filters.js"
import { DEFAULT_SCOPE_ID, ScopeId, SenderId } from "./Message.js"

/** Every memory type of the contract; Engram builds the first three (see MemoryReader). */
export const MemoryType = Schema.Literal("episode", "atomic_fact", "foresight", "profile", "agent_case", "agent_skill")
export type MemoryType = typeof MemoryType.Type

/**
 * `updated_at` is EverOS's name: Engram never edits a derived row in place (a re-extraction
 * replaces it), so the time a row was last written is its `created_at`, and the two sort alike.
 */
export const SortBy = Schema.Literal("timestamp", "created_at", "updated_at")
export type SortBy = typeof SortBy.Type

/** The stored column a `sort_by` orders by. */
export const sortColumnOf = (sortBy: SortBy): "timestamp" | "created_at" => sortBy === "updated_at" ? "created_at" : sortBy

export const SortOrder = Schema.Literal("asc", "desc")
export type SortOrder = typeof SortOrder.Type

export const MAX_PAGE_SIZE = 100
/** Deep enough for any real listing; keeps `(page - 1) * page_size` a small integer. */
export const MAX_PAGE = 1_000_000

/** `page` (1-based) and `page_size` of a listing, with their bounds and defaults; shared by every paged request. */
export const PageFields = {
  page: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(1, MAX_PAGE, { message: () => `must be an integer between 1 and ${MAX_PAGE}` })),
    { default: () => 1 }
  ),
  page_size: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(1, MAX_PAGE_SIZE, { message: () => `must be an integer between 1 and ${MAX_PAGE_SIZE}` })),
    { default: () => 20 }
  )
}

const GetFields = Schema.Struct({
  // `null` is absent (EverOS's clients send the other owner as null).
  user_id: Schema.optionalWith(SenderId, { nullable: true, exact: true }),
  agent_id: Schema.optionalWith(SenderId, { nullable: true, exact: true }),
  app_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  project_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  memory_type: Schema.optionalWith(MemoryType, { default: () => "episode" as const }),
  ...PageFields,
  sort_by: Schema.optionalWith(SortBy, { default: () => "timestamp" as const }),
  sort_order: Schema.optionalWith(SortOrder, { default: () => "desc" as const }),
  filters: Schema.optionalWith(Filters, { nullable: true, exact: true }),
  /** Foresight only: items whose [start_time, end_time] contains this instant. */
  valid_at: Schema.optional(FilterTimestamp)
}).annotations({ parseOptions: { onExcessProperty: "error" } })

/**
 * `POST /memory/get`: one page of a user's memory of one type. Unknown keys are refused (a typo
 * must not silently widen the result), and so is `valid_at` on a type it cannot apply to.
 */
export const GetRequest = GetFields.pipe(
  Schema.filter((request) => {
    if (request.user_id === undefined && request.agent_id === undefined) {
      return { path: ["user_id"], message: "is required (or agent_id)" }
    }
    if (request.user_id !== undefined && request.agent_id !== undefined) {
      return { path: ["agent_id"], message: "must not be given together with user_id" }
    }
    if (request.valid_at !== undefined && request.memory_type !== "foresight") {
      return { path: ["valid_at"], message: "only applies to memory_type 'foresight'" }
    }
    return undefined
  }),
  Schema.annotations({ identifier: "GetRequest" })
)
export type GetRequest = typeof GetRequest.Type
