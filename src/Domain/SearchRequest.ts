import { Schema } from "effect"
import { AgentCaseItem, AgentSkillItem, ProfileItem } from "./TrackItems.js"
import { Filters } from "./Filters.js"
import { DEFAULT_SCOPE_ID, Role, ScopeId, SenderId } from "./Message.js"

/**
 * The search contract (`POST /memory/search`, `engram search`, the `Search` service): who asks
 * (`user_id` XOR `agent_id`, within `app_id`/`project_id`), what (`query`), how (`method`), how
 * much (`top_k`, `min_score`, `radius`) and where (`filters`). Unknown keys are errors.
 */

export const SearchMethod = Schema.Literal("keyword", "vector", "hybrid", "agentic")
export type SearchMethod = typeof SearchMethod.Type

/** The methods that actually run (agentic is refused with CAPABILITY_UNAVAILABLE). */
export const RanSearchMethod = Schema.Literal("keyword", "vector", "hybrid")
export type RanSearchMethod = typeof RanSearchMethod.Type

export const DEFAULT_TOP_K = 10
/** `top_k: -1` means every result above `min_score`, up to this many. */
export const TOP_K_ALL_CAP = 500

export const TopK = Schema.Number.pipe(
  Schema.int({ message: () => "must be -1 (all) or an integer between 1 and 100" }),
  Schema.filter((n) => n === -1 || (n >= 1 && n <= 100), { message: () => "must be -1 (all) or an integer between 1 and 100" })
)

/** Largest context a search packs (`max_tokens`): far above any model's useful prompt share. */
export const MAX_CONTEXT_TOKENS = 32_000

export const MaxTokens = Schema.Number.pipe(
  Schema.int({ message: () => `must be an integer between 1 and ${MAX_CONTEXT_TOKENS}` }),
  Schema.between(1, MAX_CONTEXT_TOKENS, { message: () => `must be an integer between 1 and ${MAX_CONTEXT_TOKENS}` })
)

const Query = Schema.String.pipe(
  Schema.minLength(1, { message: () => "must not be empty" }),
  Schema.maxLength(2000, { message: () => "must be at most 2000 characters" }),
  Schema.filter((q) => q.trim().length > 0, { message: () => "must not be blank" })
)

const SearchRequestFields = Schema.Struct({
  user_id: Schema.optional(SenderId),
  agent_id: Schema.optional(SenderId),
  app_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  project_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  query: Query,
  /** Default: hybrid when an embedder is configured (and its vectors are usable), keyword otherwise. */
  method: Schema.optional(SearchMethod),
  top_k: Schema.optionalWith(TopK, { default: () => DEFAULT_TOP_K }),
  /** Vector candidates below this cosine similarity are dropped (vector and hybrid). */
  radius: Schema.optional(Schema.Number.pipe(Schema.between(-1, 1, { message: () => "must be a cosine similarity between -1 and 1" }))),
  /** Episodes whose fused score (0..1] is below this are dropped. */
  min_score: Schema.optional(Schema.Number.pipe(Schema.finite({ message: () => "must be a finite number" }))),
  /** With `user_id`: the answer's `profiles` carries the user's profile. */
  include_profile: Schema.optional(Schema.Boolean),
  filters: Schema.optional(Filters),
  /** With it, the answer also carries `context`: the best evidence packed within this many tokens. */
  max_tokens: Schema.optional(MaxTokens)
}).annotations({ parseOptions: { onExcessProperty: "error" } })

export const SearchRequest = SearchRequestFields.pipe(
  Schema.filter((request) =>
    (request.user_id === undefined) === (request.agent_id === undefined)
      ? { path: ["user_id"], message: "exactly one of user_id and agent_id is required" }
      : undefined
  )
).annotations({ identifier: "SearchRequest" })
export type SearchRequest = typeof SearchRequest.Type
/** What a caller writes (defaults unapplied, ids unbranded). */
export type SearchRequestInput = typeof SearchRequest.Encoded

/** One atomic fact that matched, nested under its episode, with its source messages. */
export const SearchFact = Schema.Struct({
  id: Schema.String,
  content: Schema.String,
  score: Schema.Number,
  message_ids: Schema.Array(Schema.String)
})
export type SearchFact = typeof SearchFact.Type

/** An episode hit with provenance (`memcell_id`, source `message_ids`) and its matching facts. */
export const SearchEpisode = Schema.Struct({
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
  score: Schema.Number,
  memcell_id: Schema.String,
  message_ids: Schema.Array(Schema.String),
  atomic_facts: Schema.Array(SearchFact)
})
export type SearchEpisode = typeof SearchEpisode.Type

/** A message still in its session's buffer (no memcell yet), so what was just said is findable. */
export const UnprocessedMessage = Schema.Struct({
  message_id: Schema.String,
  session_id: Schema.String,
  sender_id: Schema.String,
  role: Role,
  timestamp: Schema.Number,
  /** The message's text (the text parts of a multi-part message, joined by newlines). */
  content: Schema.String
})
export type UnprocessedMessage = typeof UnprocessedMessage.Type

/**
 * One line of a packed context: a message as `[date] Speaker: text` (or a fact), the messages it
 * shows, and the score of the evidence it belongs to (lines of one span share it), so contexts of
 * several searches can be merged by score.
 */
export const ContextLine = Schema.Struct({
  /** `message`: one message, verbatim; `fact`: an atomic fact extracted from its messages. */
  kind: Schema.Literal("message", "fact"),
  text: Schema.String,
  message_ids: Schema.Array(Schema.String),
  score: Schema.Number
})
export type ContextLine = typeof ContextLine.Type

export const SearchResult = Schema.Struct({
  /** The method that ran. */
  method: RanSearchMethod,
  episodes: Schema.Array(SearchEpisode),
  profiles: Schema.Array(ProfileItem),
  agent_cases: Schema.Array(AgentCaseItem),
  agent_skills: Schema.Array(AgentSkillItem),
  unprocessed_messages: Schema.Array(UnprocessedMessage),
  /**
   * Only when `max_tokens` was given: the best evidence within that many tokens, ready to paste
   * into a prompt (spans of adjacent lines, best first, separated by blank lines), and its lines.
   */
  context: Schema.optional(Schema.String),
  context_tokens: Schema.optional(Schema.Number),
  context_lines: Schema.optional(Schema.Array(ContextLine))
})
export type SearchResult = typeof SearchResult.Type
