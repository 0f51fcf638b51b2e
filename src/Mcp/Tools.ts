import { Tool, Toolkit } from "@effect/ai"
import { Clock, Effect, Option, Schema, SchemaAST } from "effect"
import type { McpDefaults } from "../Config/EngramConfig.js"
import { DeleteCounts, DeleteRequest, MAX_DELETE_MEMCELLS } from "../Domain/DeleteRequest.js"
import { InvalidRequest } from "../Domain/Errors.js"
import { Filters, FilterTimestamp } from "../Domain/Filters.js"
import { GetRequest, MAX_PAGE_SIZE, SortBy, SortOrder } from "../Domain/GetRequest.js"
import { GetResult } from "../Domain/MemoryItems.js"
import { AddRequest, IncomingMessage, ScopeId, SenderId, SessionId } from "../Domain/Message.js"
import { MAX_CONTEXT_TOKENS, MaxTokens, SearchMethod, SearchRequest, SearchResult, TopK } from "../Domain/SearchRequest.js"
import { SessionsRequest, SessionsResult } from "../Domain/SessionsRequest.js"
import { AddData, FLUSH_WAIT_TIMEOUT_MAX_MS, FlushData, FlushPayload } from "../Http/Api.js"
import { flushPerContract } from "../Http/MemoryHttp.js"
import { Forget } from "../Reading/Forget.js"
import { Memory } from "../Memorize/Memory.js"
import { MemoryReader } from "../Reading/MemoryReader.js"
import { SearchEntry } from "../Search/SearchEntry.js"
import { advertised, asToolCall, decodeAs, isObject, type ToolArgs, ToolFailure, withScopeDefaults, withUserDefault } from "./ToolInput.js"

/**
 * Engram's MCP tools: remember, recall, get_memories, flush_session, forget, list_sessions. Names
 * and descriptions are written for a model deciding when and how to call them; arguments are
 * decoded by the HTTP request Schemas and answered by the same services, so a tool call and the
 * matching HTTP request succeed or fail alike, with the same messages.
 */

/**
 * `schema` with a description for clients. It also goes into the JSON Schema annotation (keeping
 * what that holds, e.g. bounds): the generator drops a plain description on a refinement that has
 * no JSON Schema of its own (a custom filter), and would show the auto-generated one instead.
 */
const described = <S extends Schema.Schema.Any>(schema: S, description: string) => {
  const existing = Option.getOrElse(SchemaAST.getJSONSchemaAnnotation(schema.ast), () => ({}))
  return schema.annotations({ description, jsonSchema: { ...existing, description } })
}

/** `app_id` / `project_id` as shown to clients, naming the configured default. */
const scopeFields = (defaults: McpDefaults) => ({
  app_id: Schema.optional(described(
    ScopeId,
    `Application whose memory this is (lowercase). Default: '${Option.getOrElse(defaults.appId, () => "default")}'.`
  )),
  project_id: Schema.optional(described(
    ScopeId,
    `Project within the application (lowercase). Default: '${Option.getOrElse(defaults.projectId, () => "default")}'.`
  ))
})

/** `user_id`: optional when a default user is configured (and the description says which). */
const userField = (defaults: McpDefaults, what: string): Schema.Struct.Fields =>
  Option.match(defaults.userId, {
    onNone: () => ({ user_id: described(SenderId, what) }),
    onSome: (user) => ({ user_id: Schema.optional(described(SenderId, `${what} Default: '${user}' (configured).`)) })
  })

const messageFields = IncomingMessage.from.fields

const ShownMessage = Schema.Struct({
  role: described(messageFields.role, "'user' for what the user said, 'assistant' for your replies, 'tool' for a tool result."),
  content: described(messageFields.content, "The message text (or OpenAI-style content parts)."),
  sender_id: Schema.optional(described(SenderId, "Who sent it. Default: the user_id for role 'user', otherwise the role ('assistant', 'tool').")),
  sender_name: messageFields.sender_name,
  timestamp: Schema.optional(described(
    messageFields.timestamp,
    "When it was said, in epoch milliseconds. Default: the time of this call. Give it (or message_id) so that repeating the call stores nothing twice."
  )),
  message_id: Schema.optional(described(SessionId, "Your own id for the message (1-128 characters); a message with a known id is stored once.")),
  tool_calls: messageFields.tool_calls,
  tool_call_id: Schema.optional(described(Schema.String, "Required for role 'tool': the id of the tool call this answers."))
})

/** Read-only lookups never change memory; every tool works on Engram's own store only. */
const readOnly = <
  Name extends string,
  Config extends {
    readonly parameters: Tool.AnyParametersSchema
    readonly success: Schema.Schema.Any
    readonly failure: Schema.Schema.All
    readonly failureMode: Tool.FailureMode
  },
  R
>(tool: Tool.Tool<Name, Config, R>) =>
  tool.annotate(Tool.Readonly, true).annotate(Tool.Destructive, false).annotate(Tool.Idempotent, true).annotate(Tool.OpenWorld, false)

/** The tools, with descriptions naming the configured defaults. */
export const makeEngramToolkit = (defaults: McpDefaults) => {
  const scope = scopeFields(defaults)

  const Remember = Tool.make("remember", {
    description: "Save conversation messages to long-term memory (Engram). Call it after each exchange with the new messages " +
      "(the user's message and your reply), under one session_id per conversation. The messages are stored durably " +
      "before this returns; Engram then segments them into episodes, atomic facts and foresight that `recall` finds. " +
      "Repeating a call with the same messages (same timestamps or message_ids) stores nothing twice.",
    success: Schema.Struct({ session_id: Schema.String, ...AddData.fields }),
    failure: ToolFailure
  }).setParameters(advertised(Schema.Struct({
    session_id: described(SessionId, "A stable id for this conversation (1-128 characters); use the same one for all its messages."),
    messages: described(
      Schema.Array(ShownMessage).pipe(Schema.minItems(1), Schema.maxItems(500)),
      "The new messages, oldest first (1-500)."
    ),
    ...userField(defaults, "The user this conversation is with: the sender of messages with role 'user' that carry no sender_id."),
    ...scope
  })))
    .annotate(Tool.Title, "Remember messages")
    .annotate(Tool.Readonly, false)
    .annotate(Tool.Destructive, false)
    .annotate(Tool.Idempotent, false)
    .annotate(Tool.OpenWorld, false)

  const Recall = readOnly(
    Tool.make("recall", {
      description: "Search long-term memory for what is relevant to a query. The answer's `context` is the best evidence " +
        "(the conversation lines themselves, dated, with the speaker) packed within max_tokens, ready to read; " +
        "`context_lines` gives each line's source message ids, and `episodes` the structured results (each with a " +
        "query-focused excerpt, a summary, matching atomic facts and its source message ids), plus recent messages not " +
        "processed yet. Use it before answering anything that may depend on earlier conversations: the user's " +
        "preferences, plans, facts about them, or what was said before.",
      success: SearchResult,
      failure: ToolFailure
    }).setParameters(advertised(Schema.Struct({
      query: described(SearchRequest.from.fields.query, "What to look for, in natural language (1-2000 characters)."),
      ...userField(defaults, "Whose memory to search."),
      method: Schema.optional(described(
        SearchMethod,
        "keyword (BM25), vector or hybrid (need an embedder), or agentic (needs an LLM too: the model checks the results and searches again for what is missing). Default: hybrid with an embedder configured, else keyword."
      )),
      top_k: Schema.optional(described(TopK, "How many episodes at most (1-100, or -1 for all). Default: 10.")),
      max_tokens: Schema.optional(described(
        MaxTokens,
        `Token budget of the packed context (1-${MAX_CONTEXT_TOKENS}). Default: ${RECALL_DEFAULT_MAX_TOKENS}.`
      )),
      min_score: Schema.optional(described(Schema.Number, "Drop episodes whose score (0-1] is below this.")),
      filters: Schema.optional(described(Filters, "Narrow by session_id, sender_id or timestamp, e.g. {\"session_id\": \"trip\"}.")),
      ...scope
    }))).annotate(Tool.Title, "Recall memories")
  )

  const GetMemories = readOnly(
    Tool.make("get_memories", {
      description: "List a user's memories of one type, a page at a time, without a query: 'episode' (summaries of past " +
        "conversation segments, with their atomic facts), 'atomic_fact' (short statements about the user) or 'foresight' " +
        "(plans and expectations with a time range; valid_at selects those valid at an instant). To find memories about " +
        "something specific, use recall instead.",
      success: GetResult,
      failure: ToolFailure
    }).setParameters(advertised(Schema.Struct({
      ...userField(defaults, "Whose memory to list."),
      memory_type: Schema.optional(described(
        Schema.Literal("episode", "atomic_fact", "foresight"),
        "Which kind of memory. Default: episode."
      )),
      page: Schema.optional(described(Schema.Int, "Page number, from 1. Default: 1.")),
      page_size: Schema.optional(described(Schema.Int, `Items per page (1-${MAX_PAGE_SIZE}). Default: 20.`)),
      sort_by: Schema.optional(described(SortBy, "timestamp (when it was said) or created_at (when it was extracted). Default: timestamp.")),
      sort_order: Schema.optional(described(SortOrder, "Default: desc (newest first).")),
      filters: Schema.optional(described(Filters, "Narrow by session_id, sender_id or timestamp.")),
      valid_at: Schema.optional(described(FilterTimestamp, "Foresight only: epoch milliseconds or ISO date-time the items must be valid at.")),
      ...scope
    }))).annotate(Tool.Title, "List memories")
  )

  const FlushSession = Tool.make("flush_session", {
    description: "Close a session now: every message of it still waiting in the buffer becomes part of a memcell, instead " +
      "of waiting for the topic to change. Call it when a conversation ends. With wait: true it returns only once " +
      "episodes and facts are extracted, so recall finds them right away.",
    success: FlushData,
    failure: ToolFailure
  }).setParameters(advertised(Schema.Struct({
    session_id: described(SessionId, "The session to close."),
    wait: Schema.optional(described(Schema.Boolean, "Wait until extraction is done (bounded by the server). Default: false.")),
    wait_timeout_ms: Schema.optional(described(Schema.Int, `With wait: at most this many milliseconds (1-${FLUSH_WAIT_TIMEOUT_MAX_MS}).`)),
    ...scope
  })))
    .annotate(Tool.Title, "Flush a session")
    .annotate(Tool.Readonly, false)
    .annotate(Tool.Destructive, false)
    .annotate(Tool.Idempotent, true)
    .annotate(Tool.OpenWorld, false)

  const ForgetTool = Tool.make("forget", {
    description: "Permanently delete memory: a user's messages (user_id), a whole session (session_id) or given memcells " +
      "(memcell_ids), with everything derived from them (episodes, facts, foresight, search indexes). Criteria given " +
      "together narrow each other. This cannot be undone: call it only when the user explicitly asks to forget, and " +
      "set confirm to true. user_id is never filled in for you here.",
    success: DeleteCounts,
    failure: ToolFailure
  }).setParameters(advertised(Schema.Struct({
    user_id: Schema.optional(described(SenderId, "Delete this user's messages and every memcell containing one of them.")),
    session_id: Schema.optional(described(SessionId, "Delete this session (narrowed to user_id when both are given).")),
    memcell_ids: Schema.optional(described(
      Schema.Array(Schema.String).pipe(Schema.minItems(1), Schema.maxItems(MAX_DELETE_MEMCELLS)),
      "Delete these memcells (ids from recall or get_memories results)."
    )),
    confirm: described(Schema.Literal(true), "Must be true: deleting cannot be undone."),
    ...scope
  })))
    .annotate(Tool.Title, "Forget memory")
    .annotate(Tool.Readonly, false)
    .annotate(Tool.Destructive, true)
    .annotate(Tool.Idempotent, true)
    .annotate(Tool.OpenWorld, false)

  const ListSessions = readOnly(
    Tool.make("list_sessions", {
      description: "List the sessions (conversations) a user took part in, most recently active first, with how many of " +
        "the user's messages each holds and how many still wait to be processed into memory.",
      success: SessionsResult,
      failure: ToolFailure
    }).setParameters(advertised(Schema.Struct({
      ...userField(defaults, "Whose sessions to list."),
      page: Schema.optional(described(Schema.Int, "Page number, from 1. Default: 1.")),
      page_size: Schema.optional(described(Schema.Int, `Sessions per page (1-${MAX_PAGE_SIZE}). Default: 20.`)),
      ...scope
    }))).annotate(Tool.Title, "List sessions")
  )

  return Toolkit.make(Remember, Recall, GetMemories, FlushSession, ForgetTool, ListSessions)
}

export type EngramToolkit = ReturnType<typeof makeEngramToolkit>


/** A message with the defaults filled in: sender from the role (or the user), timestamp now. Keys stay absent otherwise. */
const withMessageDefaults = (message: unknown, userId: unknown, now: number) => {
  if (!isObject(message)) return message
  const sender = message.role === "user" ? userId : message.role === "assistant" || message.role === "tool" ? message.role : undefined
  return {
    ...message,
    ...(message.sender_id === undefined && sender !== undefined ? { sender_id: sender } : {}),
    ...(message.timestamp === undefined ? { timestamp: now } : {})
  }
}

const UserIdArg = Schema.Struct({ user_id: Schema.optional(SenderId) })

/**
 * The context budget recall packs when the client names none: room for a dozen or so spans of
 * conversation, a small share of any model's window.
 */
export const RECALL_DEFAULT_MAX_TOKENS = 1500

/**
 * Recall's work, shared with the recall prompt: the search request with the defaults (user, scope,
 * a context budget), through SearchEntry (as HTTP), so the answer carries the packed `context` and the results.
 */
export const recallWith = (defaults: McpDefaults, search: SearchEntry, args: ToolArgs) =>
  Effect.flatMap(
    decodeAs(
      SearchRequest,
      withScopeDefaults(defaults, withUserDefault(defaults, args.max_tokens === undefined ? { ...args, max_tokens: RECALL_DEFAULT_MAX_TOKENS } : args))
    ),
    (request) => search.search(request)
  )

/** The handlers: thin translations from tool arguments to the services HTTP uses. */
export const engramToolHandlers = (toolkit: EngramToolkit, defaults: McpDefaults) =>
  toolkit.toLayer(Effect.gen(function*() {
    const memory = yield* Memory
    const reader = yield* MemoryReader
    const search = yield* SearchEntry
    const forget = yield* Forget

    return toolkit.of({
      remember: (args: ToolArgs) =>
        Effect.gen(function*() {
          const { messages, user_id, ...rest } = withScopeDefaults(defaults, withUserDefault(defaults, args))
          // The user is checked first, so a bad one is named as user_id rather than as a message's sender.
          yield* decodeAs(UserIdArg, { user_id })
          const now = yield* Clock.currentTimeMillis
          const filled = Array.isArray(messages) ? messages.map((message) => withMessageDefaults(message, user_id, now)) : messages
          const request = yield* decodeAs(AddRequest, { ...rest, messages: filled })
          const { message_count, status } = yield* memory.add(request)
          return { session_id: request.session_id, message_count, status }
        }).pipe(asToolCall("remember")),

      recall: (args: ToolArgs) => recallWith(defaults, search, args).pipe(asToolCall("recall")),

      get_memories: (args: ToolArgs) =>
        decodeAs(GetRequest, withScopeDefaults(defaults, withUserDefault(defaults, args))).pipe(
          Effect.flatMap(reader.get),
          asToolCall("get_memories")
        ),

      flush_session: (args: ToolArgs) =>
        decodeAs(FlushPayload, withScopeDefaults(defaults, args)).pipe(
          Effect.flatMap((payload) => flushPerContract(memory, payload)),
          asToolCall("flush_session")
        ),

      forget: (args: ToolArgs) =>
        Effect.gen(function*() {
          const { confirm, ...criteria } = args
          if (confirm !== true) {
            return yield* new InvalidRequest({ field: "confirm", problem: "must be true to delete (deleting cannot be undone)" })
          }
          // No default user here: deleting must name whose memory it deletes.
          const request = yield* decodeAs(DeleteRequest, withScopeDefaults(defaults, criteria))
          return yield* forget.delete(request)
        }).pipe(asToolCall("forget")),

      list_sessions: (args: ToolArgs) =>
        decodeAs(SessionsRequest, withScopeDefaults(defaults, withUserDefault(defaults, args))).pipe(
          Effect.flatMap(reader.sessions),
          asToolCall("list_sessions")
        )
    })
  }))
