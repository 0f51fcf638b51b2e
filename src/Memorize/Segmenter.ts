import { Effect } from "effect"
import type { LlmError } from "../Domain/Errors.js"
import { messageText, type StoredMessage } from "../Domain/Message.js"
import type { ZonedCalendar } from "../Text/Calendar.js"
import { type DetectorMessage, normalizeBoundaries } from "./BoundaryDetector.js"

export interface SegmentationRules {
  /** Close every buffered message (flush), not only what the detector closes. */
  readonly final: boolean
  readonly maxCellTokens: number
  readonly maxCellMessages: number
  /** Calendar whose dates force a cut. */
  readonly calendar: ZonedCalendar
}

export type Detect = (messages: ReadonlyArray<DetectorMessage>) => Effect.Effect<ReadonlyArray<number>, LlmError>

/**
 * Chat mode: the detector sees user and assistant turns that carry no tool calls. Tool traffic is
 * not dropped: it rides in the segment of the conversation around it.
 */
export const isChatTurn = (m: StoredMessage): boolean =>
  (m.role === "user" || m.role === "assistant") && (m.tool_calls === null || m.tool_calls.length === 0)

const toDetectorMessage = (m: StoredMessage): DetectorMessage => ({
  sender_id: m.sender_id,
  sender_name: m.sender_name,
  role: m.role,
  timestamp: m.timestamp,
  text: messageText(m.content)
})

/**
 * Length of the largest prefix that fits under both caps (at least one message, so a single
 * over-long message still becomes its own cell rather than blocking the session forever).
 */
const fittingPrefixLength = (rows: ReadonlyArray<StoredMessage>, rules: SegmentationRules): number => {
  let tokens = 0
  for (let i = 0; i < rows.length; i++) {
    tokens += rows[i]!.token_count
    if (i + 1 >= rules.maxCellMessages || tokens >= rules.maxCellTokens) return Math.max(1, i)
  }
  return rows.length
}

const reachesCaps = (rows: ReadonlyArray<StoredMessage>, rules: SegmentationRules): boolean => {
  if (rows.length >= rules.maxCellMessages) return true
  let tokens = 0
  for (const row of rows) tokens += row.token_count
  return tokens >= rules.maxCellTokens
}

/** Splits rows (already in time order) wherever the calendar date changes. */
export const splitByCalendarDate = (
  rows: ReadonlyArray<StoredMessage>,
  calendar: ZonedCalendar
): ReadonlyArray<ReadonlyArray<StoredMessage>> => {
  const runs: Array<Array<StoredMessage>> = []
  let previousDate: string | undefined
  for (const row of rows) {
    const date = calendar.date(row.timestamp)
    if (date !== previousDate || runs.length === 0) runs.push([])
    runs[runs.length - 1]!.push(row)
    previousDate = date
  }
  return runs
}

/** Cuts a run at chat-turn boundaries (`b` = after the b-th chat turn); other rows stay with what precedes them. */
const cutAtChatBoundaries = (
  run: ReadonlyArray<StoredMessage>,
  boundaries: ReadonlyArray<number>
): ReadonlyArray<ReadonlyArray<StoredMessage>> => {
  if (boundaries.length === 0) return [run]
  const cutBefore = new Set<number>()
  let chatSeen = 0
  const wanted = new Set(boundaries)
  run.forEach((row, position) => {
    if (!isChatTurn(row)) return
    if (wanted.has(chatSeen)) cutBefore.add(position)
    chatSeen++
  })
  const segments: Array<ReadonlyArray<StoredMessage>> = []
  let start = 0
  for (let position = 1; position < run.length; position++) {
    if (cutBefore.has(position)) {
      segments.push(run.slice(start, position))
      start = position
    }
  }
  segments.push(run.slice(start))
  return segments
}

/**
 * Decides which buffered messages close into memcells now. Order of rules:
 * 1. size caps, in code: while the buffer reaches the token or message cap, the largest prefix
 *    that fits closes (so a detector prompt is always bounded);
 * 2. with no user turn left in the buffer nothing more closes (assistant-only chatter waits), unless final;
 * 3. a change of calendar date closes everything before it;
 * 4. within each date run the detector proposes cuts; the run's trailing segment stays open unless
 *    the run is followed by another date or this is a flush.
 * Returns the closed segments in order; what is not returned stays buffered.
 */
export const planSegments = (
  buffer: ReadonlyArray<StoredMessage>,
  detect: Detect,
  rules: SegmentationRules
): Effect.Effect<ReadonlyArray<ReadonlyArray<StoredMessage>>, LlmError> =>
  Effect.gen(function*() {
    const closed: Array<ReadonlyArray<StoredMessage>> = []
    let rest = buffer
    while (rest.length > 0 && reachesCaps(rest, rules)) {
      const length = fittingPrefixLength(rest, rules)
      closed.push(rest.slice(0, length))
      rest = rest.slice(length)
    }
    if (rest.length === 0) return closed
    if (!rules.final && !rest.some((m) => isChatTurn(m) && m.role === "user")) return closed

    const runs = splitByCalendarDate(rest, rules.calendar)
    for (const [index, run] of runs.entries()) {
      const chat = run.filter(isChatTurn)
      const boundaries = chat.length >= 2
        ? normalizeBoundaries(yield* detect(chat.map(toDetectorMessage)), chat.length)
        : []
      const segments = cutAtChatBoundaries(run, boundaries)
      const runIsClosed = rules.final || index < runs.length - 1
      closed.push(...(runIsClosed ? segments : segments.slice(0, -1)))
    }
    return closed
  })
