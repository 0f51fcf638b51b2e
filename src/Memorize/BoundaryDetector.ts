import { Context } from "effect"
import type { Effect } from "effect"
import type { LlmError } from "../Domain/Errors.js"
import type { Role } from "../Domain/Message.js"

/** A buffered chat message as a boundary detector sees it. */
export interface DetectorMessage {
  readonly sender_id: string
  readonly sender_name: string | null
  readonly role: Role
  /** Epoch milliseconds. */
  readonly timestamp: number
  readonly text: string
}

/**
 * Decides where one topic ends and the next begins. Answers 1-based boundaries: `b` means
 * "cut after message b". The caller keeps only `1 <= b < n`, so the last message is never
 * closed by a detector; only a flush closes it.
 */
export class BoundaryDetector extends Context.Tag("engram/BoundaryDetector")<
  BoundaryDetector,
  {
    readonly name: string
    readonly detect: (messages: ReadonlyArray<DetectorMessage>) => Effect.Effect<ReadonlyArray<number>, LlmError>
  }
>() {}

/** Keep only boundaries that cut inside `n` messages, deduplicated and ascending. */
export const normalizeBoundaries = (boundaries: ReadonlyArray<number>, n: number): ReadonlyArray<number> =>
  Array.from(new Set(boundaries.filter((b) => Number.isInteger(b) && b >= 1 && b < n))).sort((a, b) => a - b)
