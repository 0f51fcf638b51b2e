import { Effect } from "effect"
import type { LlmError } from "../Domain/Errors.js"
import { messageText, sessionKeyString, type StoredMessage } from "../Domain/Message.js"
import type { ZonedCalendar } from "../Text/Calendar.js"
import type { SeenUpdate } from "./MemcellRepo.js"
import { type BoundaryDetector, type DetectorMessage, normalizeBoundaries, type RunTurn } from "./BoundaryDetector.js"
import type { SeenMark } from "../Ledger/SeenMark.js"

export interface SegmentationRules {
  /** Close every buffered message (flush), not only what the detector closes. */
  readonly final: boolean
  readonly maxCellTokens: number
  readonly maxCellMessages: number
  /** Calendar whose dates force a cut. */
  readonly calendar: ZonedCalendar
}

export type Detector = BoundaryDetector["Type"]

/** The plan of one cycle: what closes into memcells, and what the model now knows of what stays. */
export interface SegmentPlan {
  readonly closed: ReadonlyArray<ReadonlyArray<StoredMessage>>
  readonly seen: ReadonlyArray<SeenUpdate>
}

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
 *    the run is followed by another date or this is a flush. A detector with `decide` is told what
 *    it already judged (`marks`, by message id) and whether the run closes, and may not ask at all.
 * Returns the closed segments in order (what is not returned stays buffered) and the new marks of
 * the turns that stay buffered after a judgement.
 */
export const planSegments = (
  buffer: ReadonlyArray<StoredMessage>,
  detector: Detector,
  rules: SegmentationRules,
  marks: ReadonlyMap<string, SeenMark> = new Map()
): Effect.Effect<SegmentPlan, LlmError> =>
  Effect.gen(function*() {
    const closed: Array<ReadonlyArray<StoredMessage>> = []
    const seen: Array<SeenUpdate> = []
    let rest = buffer
    while (rest.length > 0 && reachesCaps(rest, rules)) {
      const length = fittingPrefixLength(rest, rules)
      closed.push(rest.slice(0, length))
      rest = rest.slice(length)
    }
    if (rest.length === 0) return { closed, seen }
    if (!rules.final && !rest.some((m) => isChatTurn(m) && m.role === "user")) return { closed, seen }

    const runs = splitByCalendarDate(rest, rules.calendar)
    for (const [index, run] of runs.entries()) {
      const chat = run.filter(isChatTurn)
      const runIsClosed = rules.final || index < runs.length - 1
      let boundaries: ReadonlyArray<number> = []
      if (chat.length >= 2 && detector.decide !== undefined) {
        const turns: ReadonlyArray<RunTurn> = chat.map((m) => ({
          ...toDetectorMessage(m),
          seen: marks.get(m.message_id) ?? "unseen",
          tokens: m.token_count
        }))
        const decision = yield* detector.decide(turns, runIsClosed)
        boundaries = normalizeBoundaries(decision.boundaries, chat.length)
        if (decision.judged !== undefined && !runIsClosed) {
          // The trailing turns stay buffered, judged: a later add need not show them again.
          const trailing = chat.slice(boundaries.at(-1) ?? 0)
          trailing.forEach((m, i) => {
            const mark: SeenMark = i === trailing.length - 1 && decision.judged!.topicDone ? "topic_done" : "seen"
            if ((marks.get(m.message_id) ?? "unseen") !== mark) seen.push({ message_id: m.message_id, mark })
          })
        }
      } else if (chat.length >= 2) {
        // The stream: this date's run of the session's buffer (a detector may continue its last analysis of it).
        const stream = `${sessionKeyString(chat[0]!)}#${index}`
        boundaries = normalizeBoundaries(yield* detector.detect(chat.map(toDetectorMessage), stream), chat.length)
      }
      const segments = cutAtChatBoundaries(run, boundaries)
      closed.push(...(runIsClosed ? segments : segments.slice(0, -1)))
    }
    return { closed, seen }
  })
