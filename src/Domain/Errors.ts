import { Schema } from "effect"

/** A message id that is already in the ledger with different content or in another session. */
export class MessageIdConflict extends Schema.TaggedError<MessageIdConflict>()("MessageIdConflict", {
  message_id: Schema.String,
  index: Schema.Number,
  reason: Schema.String
}) {
  override get message() {
    return `message_id '${this.message_id}' (messages.${this.index}) ${this.reason}`
  }
}

/** Waiting for plus holding a session's permit took longer than the configured budget. */
export class SessionLockTimeout extends Schema.TaggedError<SessionLockTimeout>()("SessionLockTimeout", {
  session_id: Schema.String,
  timeout_ms: Schema.Number
}) {
  override get message() {
    return `session '${this.session_id}' was busy for more than ${this.timeout_ms} ms`
  }
}

/** Another writer consumed some of the same messages first, more often than the retry budget allows. */
export class CommitContention extends Schema.TaggedError<CommitContention>()("CommitContention", {
  session_id: Schema.String,
  attempts: Schema.Number
}) {
  override get message() {
    return `session '${this.session_id}' kept changing under ${this.attempts} commit attempts`
  }
}

/** The LLM endpoint could not be reached or answered with a failure status. */
export class LlmUnavailable extends Schema.TaggedError<LlmUnavailable>()("LlmUnavailable", {
  reason: Schema.String,
  status: Schema.optional(Schema.Number),
  retryable: Schema.Boolean
}) {
  override get message() {
    return `LLM unavailable: ${this.reason}`
  }
}

/** The LLM answered, but not with what the contract asks for (after every allowed attempt). */
export class LlmMalformedAnswer extends Schema.TaggedError<LlmMalformedAnswer>()("LlmMalformedAnswer", {
  purpose: Schema.String,
  attempts: Schema.Number,
  reason: Schema.String
}) {
  override get message() {
    return `LLM gave no usable ${this.purpose} answer in ${this.attempts} attempts: ${this.reason}`
  }
}

export type LlmError = LlmUnavailable | LlmMalformedAnswer

/** Storage failed (disk, corruption, a lock held by another process for too long). */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `storage failed during ${this.operation}: ${this.reason}`
  }
}

/** The request asks for something this Engram does not build (yet, or in this configuration). */
export class CapabilityUnavailable extends Schema.TaggedError<CapabilityUnavailable>()("CapabilityUnavailable", {
  capability: Schema.String,
  hint: Schema.String
}) {
  override get message() {
    return `${this.capability} is not available: ${this.hint}`
  }
}

/** A request that is well-formed but refused by a rule outside its Schema (e.g. a missing confirmation). */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  field: Schema.String,
  problem: Schema.String
}) {
  override get message() {
    return `${this.problem}: ${this.field}`
  }
}

/** The message of anything thrown or failed that has one (an Error, a tagged error), else undefined. */
export const messageOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : undefined
