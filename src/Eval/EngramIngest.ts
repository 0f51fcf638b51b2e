/**
 * Feeds a LoCoMo conversation to Engram through the public `Memory` service, as an agent would:
 * one Engram session per LoCoMo session, both speakers as users (sender id from the speaker's
 * name, the name itself as `sender_name`), timestamps from the session's date and time plus
 * `TURN_SPACING_MS` per turn, `message_id` = the turn's `dia_id`. Conversations are kept apart by
 * their project id (`locomo` app, project = the sample id), so turn ids never collide. Each
 * session is added in batches of at most 500 and then flushed, waiting until extraction is done.
 */
import { Effect, Schema } from "effect"
import { AddRequest, FlushRequest, type IncomingMessage } from "../Domain/Message.js"
import { firstIssue } from "../Domain/Validation.js"
import { Memory } from "../Memorize/Memory.js"
import { type LocomoConversation, type LocomoSession, turnText } from "./LocomoData.js"

/** "A few seconds per turn": sessions stay within their day and show no long silences. */
export const TURN_SPACING_MS = 10_000
/** The add contract's batch limit. */
const MAX_BATCH = 500
/** How long one flush waits for extraction, and how many such waits before giving up. */
const FLUSH_WAIT = "60 seconds"
const FLUSH_WAIT_ROUNDS = 5

export const EVAL_APP_ID = "locomo"

export class EngramIngestError extends Schema.TaggedError<EngramIngestError>()("EngramIngestError", {
  sample_id: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `ingest of ${this.sample_id} failed: ${this.reason}`
  }
}

/** A scope id (lowercase, `[a-z0-9_.@+-]`) made from any label. */
export const scopeIdOf = (label: string): string => {
  const id = label.toLowerCase().replace(/[^a-z0-9_.@+-]+/g, "-").replace(/^[.]+$/, "-").slice(0, 128)
  return id.length > 0 ? id : "conversation"
}

/** A sender id (`[a-zA-Z0-9_.@+-]`) made from a speaker's name. */
export const senderIdOf = (speaker: string): string => {
  const id = speaker.trim().replace(/[^a-zA-Z0-9_.@+-]+/g, "_").replace(/^[.]+$/, "_").slice(0, 128)
  return id.length > 0 ? id : "speaker"
}

export const scopeOf = (conversation: LocomoConversation) => ({
  app_id: EVAL_APP_ID,
  project_id: scopeIdOf(conversation.sampleId)
})

export const sessionIdOf = (session: LocomoSession) => `session_${session.index}`

export const sessionMessages = (session: LocomoSession): ReadonlyArray<IncomingMessage> =>
  session.turns.map((turn, i) => ({
    message_id: turn.dia_id,
    sender_id: senderIdOf(turn.speaker),
    sender_name: turn.speaker,
    role: "user",
    timestamp: session.startMs + i * TURN_SPACING_MS,
    content: turnText(turn)
  }))

/** How Engram segmented one conversation: memcell sizes in messages. */
export interface IngestStats {
  readonly sessions: number
  readonly messages: number
  readonly memcellSizes: ReadonlyArray<number>
}

const invalid = (conversation: LocomoConversation) => (error: Parameters<typeof firstIssue>[0]) =>
  new EngramIngestError({ sample_id: conversation.sampleId, reason: firstIssue(error).text })

export const ingestConversation = Effect.fn("EngramIngest.conversation")(function*(conversation: LocomoConversation) {
  const memory = yield* Memory
  const scope = scopeOf(conversation)
  const memcellSizes: Array<number> = []
  let messages = 0
  for (const session of conversation.sessions) {
    const all = sessionMessages(session)
    messages += all.length
    for (let start = 0; start < all.length; start += MAX_BATCH) {
      const request = yield* Schema.decodeUnknown(AddRequest)({
        ...scope,
        session_id: sessionIdOf(session),
        messages: all.slice(start, start + MAX_BATCH)
      }).pipe(Effect.mapError(invalid(conversation)))
      yield* memory.add(request)
    }
    const flush = yield* Schema.decodeUnknown(FlushRequest)({ ...scope, session_id: sessionIdOf(session) }).pipe(
      Effect.mapError(invalid(conversation))
    )
    let complete = false
    for (let round = 0; round < FLUSH_WAIT_ROUNDS && !complete; round++) {
      complete = (yield* memory.flush(flush, { wait: FLUSH_WAIT })).extraction_complete === true
    }
    if (!complete) {
      return yield* new EngramIngestError({
        sample_id: conversation.sampleId,
        reason: `extraction of ${sessionIdOf(session)} did not finish within ${FLUSH_WAIT_ROUNDS} × ${FLUSH_WAIT}`
      })
    }
    const state = yield* memory.session(flush)
    for (const cell of state.memcells) memcellSizes.push(cell.message_ids.length)
  }
  return { sessions: conversation.sessions.length, messages, memcellSizes } satisfies IngestStats
})
