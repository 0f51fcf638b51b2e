import { Context } from "effect"
import type { Effect } from "effect"
import type { LlmError } from "../Domain/Errors.js"
import type { Role } from "../Domain/Message.js"
import type { SeenMark } from "../Ledger/SeenMark.js"

/** A buffered chat message as a boundary detector sees it. */
export interface DetectorMessage {
  readonly sender_id: string
  readonly sender_name: string | null
  readonly role: Role
  /** Epoch milliseconds. */
  readonly timestamp: number
  readonly text: string
}


/** A chat turn of one calendar-date run of the buffer, with what the model knows of it. */
export interface RunTurn extends DetectorMessage {
  readonly seen: SeenMark
  /** cl100k tokens of the message. */
  readonly tokens: number
}

/** A detector's verdict on one run. */
export interface RunDecision {
  /** Cuts, 1-based over the run's turns (`b` = cut after turn b); filtered by the caller. */
  readonly boundaries: ReadonlyArray<number>
  /**
   * Present when the model judged the run's trailing turns now: they become `seen`, the last one
   * `topic_done` when the model said the topic looked finished. Absent: nothing new was judged.
   */
  readonly judged?: { readonly topicDone: boolean }
}

/**
 * Decides where one topic ends and the next begins. Answers 1-based boundaries: `b` means
 * "cut after message b". The caller keeps only `1 <= b < n`, so the last message is never
 * closed by a detector; only a flush closes it.
 *
 * A detector with `decide` chooses itself when a run is worth a question (see
 * `SelectiveBoundaryDetector`); one without is asked through `detect` on every add.
 */
export class BoundaryDetector extends Context.Tag("engram/BoundaryDetector")<
  BoundaryDetector,
  {
    readonly name: string
    /**
     * Whether a call may wait on a language model (seconds, or as long as the model hangs): the
     * memorize section then bounds it by what is left of ENGRAM_LOCK_TIMEOUT. One that only
     * computes (the local detector) runs without that timer.
     */
    readonly asksModel: boolean
    /**
     * `stream` names the conversation (a session's buffer) when the caller has one: a detector
     * may keep what it computed for it and, if the next call continues it, analyze only the new
     * messages. The answer must not depend on it.
     */
    readonly detect: (messages: ReadonlyArray<DetectorMessage>, stream?: string) => Effect.Effect<ReadonlyArray<number>, LlmError>
    /**
     * One calendar-date run's chat turns; `closing` when the run closes whatever the answer
     * (a flush, or a later date follows), so every unseen turn must be judged now.
     */
    readonly decide?: (turns: ReadonlyArray<RunTurn>, closing: boolean) => Effect.Effect<RunDecision, LlmError>
  }
>() {}

/** Keep only boundaries that cut inside `n` messages, deduplicated and ascending. */
export const normalizeBoundaries = (boundaries: ReadonlyArray<number>, n: number): ReadonlyArray<number> =>
  Array.from(new Set(boundaries.filter((b) => Number.isInteger(b) && b >= 1 && b < n))).sort((a, b) => a - b)
