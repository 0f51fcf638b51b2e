import { ParseResult, Schema } from "effect"
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

/** The retrieval methods of the Search service (agentic runs them, see AgenticSearch). */
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
  // `null` is absent (EverOS's clients send the other owner as null).
  user_id: Schema.optionalWith(SenderId, { nullable: true, exact: true }),
  agent_id: Schema.optionalWith(SenderId, { nullable: true, exact: true }),
  app_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  project_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  query: Query,
  /** Default: hybrid when an embedder is configured (and its vectors are usable), keyword otherwise. */
  method: Schema.optional(SearchMethod),
  top_k: Schema.optionalWith(TopK, { default: () => DEFAULT_TOP_K }),
  /** Vector candidates below this cosine similarity are dropped (vector and hybrid). `null`: no bound (EverOS clients send it). */
  radius: Schema.optional(
    Schema.NullOr(Schema.Number.pipe(Schema.between(-1, 1, { message: () => "must be a cosine similarity between -1 and 1" })))
  ),
  /** Episodes whose fused score (0..1] is below this are dropped. `null`: no bound. */
  min_score: Schema.optional(Schema.NullOr(Schema.Number.pipe(Schema.finite({ message: () => "must be a finite number" })))),
  /** With `user_id`: the answer's `profiles` carries the user's profile. */
  include_profile: Schema.optional(Schema.Boolean),
  /**
   * With an LLM configured, the top candidates are judged by the model in one call and reordered
   * (see LlmRerank); without one the answer's `llm_rerank` says it was not applied.
   */
  enable_llm_rerank: Schema.optional(Schema.Boolean),
  filters: Schema.optionalWith(Filters, { nullable: true, exact: true }),
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

/**
 * Epoch milliseconds in the service, an ISO-8601 instant on the wire (EverOS's `date-time`; its
 * clients slice the string, e.g. Raven's `timestamp.slice(5, 10)`). The typed client decodes it
 * back to milliseconds.
 */
export const EpochMsAsIso = Schema.transformOrFail(Schema.String, Schema.Number, {
  strict: true,
  decode: (iso, _, ast) => {
    const ms = Date.parse(iso)
    return Number.isNaN(ms) ? ParseResult.fail(new ParseResult.Type(ast, iso, "must be an ISO-8601 date-time")) : ParseResult.succeed(ms)
  },
  encode: (ms, _, ast) =>
    Number.isFinite(ms) && Math.abs(ms) <= 8.64e15
      ? ParseResult.succeed(new Date(ms).toISOString())
      : ParseResult.fail(new ParseResult.Type(ast, ms, "must be epoch milliseconds"))
})

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
  timestamp: EpochMsAsIso,
  sender_ids: Schema.Array(Schema.String),
  subject: Schema.String,
  summary: Schema.String,
  episode: Schema.String,
  type: Schema.Literal("episode"),
  /** The fused score, or the model's relevance (0..1) when `enable_llm_rerank` was applied. */
  score: Schema.Number,
  /** Only after an LLM rerank: the fused score the episode had before the model judged it. */
  fusion_score: Schema.optional(Schema.Number),
  memcell_id: Schema.String,
  message_ids: Schema.Array(Schema.String),
  atomic_facts: Schema.Array(SearchFact)
})
export type SearchEpisode = typeof SearchEpisode.Type

const UnprocessedMessageFields = {
  message_id: Schema.String,
  session_id: Schema.String,
  sender_id: Schema.String,
  role: Role,
  /** The message's text (the text parts of a multi-part message, joined by newlines). */
  content: Schema.String
}

/**
 * A message still in its session's buffer (no memcell yet), so what was just said is findable.
 * On the wire it also carries EverOS's names: `id` (the same as `message_id`) and `timestamp` as
 * an ISO-8601 instant (epoch milliseconds in the service).
 */
export const UnprocessedMessage = Schema.transform(
  Schema.Struct({ id: Schema.String, ...UnprocessedMessageFields, timestamp: EpochMsAsIso }),
  Schema.Struct({ ...UnprocessedMessageFields, timestamp: Schema.Number }),
  {
    strict: true,
    decode: ({ id: _id, ...message }) => message,
    encode: (message) => ({ id: message.message_id, ...message })
  }
)
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

/** Whether `enable_llm_rerank` reordered the episodes, and if not, why (no LLM, a failed call...). */
export const LlmRerankOutcome = Schema.Struct({
  applied: Schema.Boolean,
  /** Episodes the model judged (the top candidates). */
  judged: Schema.Number,
  reason: Schema.optional(Schema.String)
})
export type LlmRerankOutcome = typeof LlmRerankOutcome.Type

/** What `method: "agentic"` did: the model's sufficiency verdict and the complementary queries it ran. */
export const AgenticOutcome = Schema.Struct({
  /** null when the model was not asked or did not answer (see `fallback`). */
  sufficient: Schema.NullOr(Schema.Boolean),
  queries: Schema.Array(Schema.String),
  llm_calls: Schema.Number,
  /** Set when the answer is the base retrieval because an LLM step failed or ran out of budget. */
  fallback: Schema.optional(Schema.String)
})
export type AgenticOutcome = typeof AgenticOutcome.Type

export const SearchResult = Schema.Struct({
  /** The method that ran. */
  method: SearchMethod,
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
  context_lines: Schema.optional(Schema.Array(ContextLine)),
  /** Only when `enable_llm_rerank` was requested. */
  llm_rerank: Schema.optional(LlmRerankOutcome),
  /** Only for `method: "agentic"`. */
  agentic: Schema.optional(AgenticOutcome)
})
export type SearchResult = typeof SearchResult.Type
