import { Schema } from "effect"

/** Ids that name a tenant scope: lowercase, and never a path component like `.` or `..`. */
const ScopeIdPattern = /^[a-z0-9_.@+-]{1,128}$/
const SenderIdPattern = /^[a-zA-Z0-9_.@+-]{1,128}$/

const notDotPath = (s: string) => s !== "." && s !== ".."

export const ScopeId = Schema.String.pipe(
  Schema.pattern(ScopeIdPattern, {
    message: () => "must be 1-128 characters of lowercase a-z, 0-9 and _ . @ + -"
  }),
  Schema.filter(notDotPath, { message: () => "must not be '.' or '..'" }),
  Schema.brand("ScopeId")
)
export type ScopeId = typeof ScopeId.Type

export const DEFAULT_SCOPE_ID = ScopeId.make("default")

export const SenderId = Schema.String.pipe(
  Schema.pattern(SenderIdPattern, {
    message: () => "must be 1-128 characters of a-z, A-Z, 0-9 and _ . @ + -"
  }),
  Schema.filter(notDotPath, { message: () => "must not be '.' or '..'" })
)

export const SessionId = Schema.String.pipe(
  Schema.minLength(1, { message: () => "must not be empty" }),
  Schema.maxLength(128, { message: () => "must be at most 128 characters" }),
  Schema.filter((s) => !/[\u0000-\u001f\u007f]/.test(s), { message: () => "must not contain control characters" })
)

/** Client-chosen message id: the same rules as a session id. */
export const MessageId = Schema.String.pipe(
  Schema.minLength(1, { message: () => "must not be empty" }),
  Schema.maxLength(128, { message: () => "must be at most 128 characters" }),
  Schema.filter((s) => !/[\u0000-\u001f\u007f]/.test(s), { message: () => "must not contain control characters" })
)

export const Role = Schema.Literal("user", "assistant", "tool")
export type Role = typeof Role.Type

/** Epoch milliseconds; an integer between 1970 and year 5138 (anything larger is a unit mistake). */
export const TimestampMs = Schema.Number.pipe(
  Schema.int({ message: () => "must be an integer number of epoch milliseconds" }),
  Schema.between(0, 99_999_999_999_999, { message: () => "must be epoch milliseconds between 0 and 99999999999999" })
)

/** One part of a multi-part message (OpenAI-style content items); unknown extra keys are kept. */
export const ContentItem = Schema.Struct(
  {
    type: Schema.String.pipe(Schema.minLength(1, { message: () => "must not be empty" })),
    text: Schema.optional(Schema.String)
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)
export type ContentItem = typeof ContentItem.Type

export const MessageContent = Schema.Union(Schema.String, Schema.Array(ContentItem))
export type MessageContent = typeof MessageContent.Type

/** OpenAI-style tool calls, kept as the client sent them. */
export const ToolCalls = Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Unknown }))

const MessageFields = Schema.Struct({
  message_id: Schema.optional(MessageId),
  sender_id: SenderId,
  // EverOS's clients may send `null` for the optional fields (pydantic dumps them): null is absent.
  sender_name: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(256)), { nullable: true, exact: true }),
  role: Role,
  timestamp: TimestampMs,
  content: MessageContent,
  tool_calls: Schema.optionalWith(ToolCalls, { nullable: true, exact: true }),
  tool_call_id: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)), { nullable: true, exact: true })
})

/** A message as a client sends it. */
export const IncomingMessage = MessageFields.pipe(
  Schema.filter((m) =>
    m.role === "tool" && m.tool_call_id === undefined
      ? { path: ["tool_call_id"], message: "is required when role is 'tool'" }
      : undefined
  )
)
export type IncomingMessage = typeof IncomingMessage.Type

export const AddRequest = Schema.Struct({
  session_id: SessionId,
  app_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  project_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  messages: Schema.Array(IncomingMessage).pipe(
    Schema.minItems(1, { message: () => "must contain at least 1 message" }),
    Schema.maxItems(500, { message: () => "must contain at most 500 messages" })
  ),
  /**
   * Store the messages without running the boundary cycle; a later add without it (or a flush)
   * cuts the whole buffer, these messages included.
   */
  defer_extraction: Schema.optional(Schema.Boolean)
})
export type AddRequest = typeof AddRequest.Type

export const FlushRequest = Schema.Struct({
  session_id: SessionId,
  app_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  project_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID })
})
export type FlushRequest = typeof FlushRequest.Type

/** Where a session lives: tenant scope plus session id. */
export interface SessionKey {
  readonly app_id: ScopeId
  readonly project_id: ScopeId
  readonly session_id: string
}

export const sessionKeyString = (key: SessionKey): string =>
  `${key.app_id}\u0000${key.project_id}\u0000${key.session_id}`

/** A message once it is in the ledger. */
export const StoredMessage = Schema.Struct({
  seq: Schema.Number,
  message_id: Schema.String,
  app_id: ScopeId,
  project_id: ScopeId,
  session_id: Schema.String,
  sender_id: Schema.String,
  sender_name: Schema.NullOr(Schema.String),
  role: Role,
  timestamp: Schema.Number,
  content: MessageContent,
  tool_calls: Schema.NullOr(ToolCalls),
  tool_call_id: Schema.NullOr(Schema.String),
  token_count: Schema.Number,
  memcell_id: Schema.NullOr(Schema.String)
})
export type StoredMessage = typeof StoredMessage.Type

/** The plain text of a message: string content, or the text parts of a multi-part one. */
export const messageText = (content: MessageContent): string =>
  typeof content === "string"
    ? content
    : content.flatMap((item) => (typeof item.text === "string" ? [item.text] : [])).join("\n")
