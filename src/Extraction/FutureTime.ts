/**
 * Finds what a sentence says about the future, with chrono-node resolving date expressions
 * ("next Friday", "tomorrow", "in two weeks", "on June 3rd") against the message's own timestamp
 * in the configured zone. Used by the local foresight extractor (what to keep) and the local fact
 * extractor (what to leave to foresight).
 */
import * as chrono from "chrono-node"
import type { ZonedCalendar } from "../Text/Calendar.js"
import { DAY_MS, offsetMinutesAt, zonedDayEnd, zonedDayStart, zonedWallTime } from "./Extractors.js"
import { hasPastTenseVerb, isQuestion } from "./EnglishFirstPerson.js"

/** Explicit future intent: "I will", "I'll", "I'm going to", "we're planning to", "gonna". */
const FUTURE_INTENT =
  /\b(?:i|we|she|he|they)(?:['\u2019]ll| will| shall)\b|\b(?:i['\u2019]m|i am|we['\u2019]re|we are)\s+(?:going to|gonna|planning to|planning on|about to|hoping to|scheduled to|due to)\b|\bgonna\b|\b(?:i|we) (?:plan|intend|am planning|hope) to\b/i

/** Past-tense framing: a date in such a sentence is a memory ("I was born on June 3rd"), not a plan. */
const PAST_FRAMING = /\b(?:was|were|did|had|used to|born)\b/i

/** Present progressive, the usual English way to state an arrangement ("I'm flying tonight"). */
const PROGRESSIVE = /\b(?:am|['\u2019]m|are|['\u2019]re|is|['\u2019]s)\s+(?:\w+\s+)?\w+ing\b/i

const SAME_DAY_FUTURE = /\b(?:tonight|this (?:evening|afternoon)|later)\b/i
/** chrono reads "for two weeks" as a date two weeks away: it is a duration. */
const DURATION = /^for\s/i
/** "now" is not a plan. */
const NOW = /^(?:right\s+)?now\b/i
/**
 * chrono also reads bare spans as dates from now ("during the day", "once a month", "one day I'll
 * visit Japan"); a relative date counts only when it is anchored: "in a week", "next week",
 * "a day later", "the day after tomorrow".
 */
const ANCHORED_RELATIVE = /^(?:in|within|after|next|this|coming)\s|\b(?:from now|later|after tomorrow)$/i
const NEXT_WEEKDAY = /\bnext\s+(?:mon|tues|wednes|thurs|fri|satur|sun)day\b/i
/**
 * chrono reads every date forward (`forwardDate`), even "last Friday" and "two days ago": such an
 * expression names the past. So does a date with no direction of its own ("on Friday", "this
 * weekend", "June 3rd") in a sentence telling what happened ("I won on Friday").
 */
const PAST_EXPRESSION = /^(?:last|past|previous|this past|the other)\b|\bago$/i
const POINTS_FORWARD = /\b(?:next|tomorrow|coming|upcoming|in|within|from now|later|tonight|after)\b/i
/** Lower-case weekday abbreviations are words ("I sat down", "in the sun"), not dates. */
const LOWERCASE_WEEKDAY = /^(?:on |in |the )?(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\.?$/

export interface FutureMention {
  /** Epoch ms: the resolved time when the expression gives an hour, else the start of its day. */
  readonly start: number
  readonly end: number | null
  /** The date expression as written, when there was one, and where it ends in the sentence. */
  readonly expression: { readonly text: string; readonly end: number } | undefined
}

const lastMsOfMonth = (calendar: ZonedCalendar, epochMs: number): number => {
  const [y, m] = calendar.date(epochMs).split("-").map(Number)
  return zonedWallTime(calendar, m === 12 ? (y ?? 1970) + 1 : y ?? 1970, m === 12 ? 1 : (m ?? 1) + 1, 1) - 1
}

const resolvedStart = (calendar: ZonedCalendar, result: chrono.ParsedResult, refMs: number): number => {
  let ms = result.start.date().getTime()
  // chrono reads "next Friday" as Friday of next week; said on a Monday it usually means the coming
  // Friday. Engram takes the nearest such weekday strictly after the message's day.
  if (NEXT_WEEKDAY.test(result.text) && zonedDayStart(calendar, ms) - zonedDayStart(calendar, refMs) > 7 * DAY_MS) {
    ms -= 7 * DAY_MS
  }
  return result.start.isCertain("hour") ? ms : zonedDayStart(calendar, ms)
}

const resolvedEnd = (calendar: ZonedCalendar, result: chrono.ParsedResult, start: number): number | null => {
  // chrono leaves `end` null (not undefined) when there is no range.
  const end = result.end ?? undefined
  if (end !== undefined) {
    const ms = end.date().getTime()
    const value = end.isCertain("hour") ? ms : zonedDayEnd(calendar, ms)
    return value >= start ? value : null
  }
  // "in August": the whole month.
  const s = result.start
  if (s.isCertain("month") && !s.isCertain("day") && !s.isCertain("weekday")) return lastMsOfMonth(calendar, start)
  return null
}

/**
 * The future the sentence speaks of, or undefined. A sentence qualifies with a date expression
 * resolving to the message's day or later (the same day only for "tonight"-like words, a clock
 * time still ahead, intent or a progressive), or with explicit intent alone (then it starts on
 * the message's day). Questions and past-tense framings without intent never qualify. A duration
 * ("for two weeks") sets the end.
 */
export const findFutureMention = (sentence: string, refMs: number, calendar: ZonedCalendar): FutureMention | undefined => {
  if (isQuestion(sentence)) return undefined
  const intent = FUTURE_INTENT.test(sentence)
  if (!intent && PAST_FRAMING.test(sentence)) return undefined

  let results: ReadonlyArray<chrono.ParsedResult>
  try {
    results = chrono.parse(
      sentence,
      { instant: new Date(refMs), timezone: offsetMinutesAt(calendar, refMs) },
      { forwardDate: true }
    )
  } catch {
    results = []
  }

  const today = zonedDayStart(calendar, refMs)
  let durationMs: number | undefined
  let chosen: { start: number; end: number | null; result: chrono.ParsedResult } | undefined
  for (const result of results) {
    if (DURATION.test(result.text)) {
      durationMs ??= Math.max(0, result.start.date().getTime() - refMs)
      continue
    }
    if (chosen !== undefined || NOW.test(result.text)) continue
    if (PAST_EXPRESSION.test(result.text) || LOWERCASE_WEEKDAY.test(result.text)) continue
    if (!intent && !POINTS_FORWARD.test(result.text) && hasPastTenseVerb(sentence)) continue
    if (result.tags().has("result/relativeDate") && !ANCHORED_RELATIVE.test(result.text)) continue
    const start = resolvedStart(calendar, result, refMs)
    if (start < today) continue
    const sameDay = zonedDayStart(calendar, start) === today
    const sameDayOk = intent || PROGRESSIVE.test(sentence) || SAME_DAY_FUTURE.test(result.text) ||
      (result.start.isCertain("hour") && start > refMs)
    if (sameDay && !sameDayOk) continue
    chosen = { start, end: resolvedEnd(calendar, result, start), result }
  }

  if (chosen !== undefined) {
    const end = chosen.end ?? (durationMs !== undefined ? chosen.start + durationMs : null)
    const text = chosen.result.text.replace(/[\s,;:.!]+$/u, "")
    return { start: chosen.start, end, expression: { text, end: chosen.result.index + text.length } }
  }
  if (!intent) return undefined
  return { start: today, end: durationMs !== undefined ? today + durationMs : null, expression: undefined }
}
