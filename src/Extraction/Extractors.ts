/**
 * # Extractors
 *
 * The contracts of the three stages that turn one memcell into memory: episodes (a narrative of
 * the cell per user), facts (atomic statements about users) and foresight (what users plan or
 * expect, with dates). Each has a local (offline, extractive) and an LLM implementation, hence
 * Tags. Extractors only produce drafts: the runtime that calls them derives ids and writes them.
 *
 * Also the helpers both implementations share: who the user senders are, summary capping, text
 * access that survives any message shape, and wall-clock conversions in a configured time zone.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { LlmError } from "../Domain/Errors.js"
import type { Memcell } from "../Domain/Memcell.js"
import type { StoredMessage } from "../Domain/Message.js"
import type { ZonedCalendar } from "../Text/Calendar.js"

export interface MemcellInput {
  readonly memcell: Memcell
  /** The cell's messages, in memcell order. */
  readonly messages: ReadonlyArray<StoredMessage>
}

export interface EpisodeDraft {
  /** The user the episode is for. */
  readonly sender_id: string
  readonly title: string
  readonly content: string
  /** At most `SUMMARY_MAX_CHARS` characters. */
  readonly summary: string
}

export interface FactDraft {
  readonly sender_id: string
  readonly content: string
  /** Source messages; never empty. */
  readonly message_ids: ReadonlyArray<string>
}

export interface ForesightDraft {
  readonly sender_id: string
  readonly content: string
  /** Epoch milliseconds. */
  readonly start_time: number
  /** Epoch milliseconds, or null when open-ended / unknown. */
  readonly end_time: number | null
  /** The sentence (or model-quoted text) the foresight rests on. */
  readonly evidence: string
  readonly message_ids: ReadonlyArray<string>
}

/** Writes one episode per user sender of the cell. */
export class EpisodeExtractor extends Context.Tag("engram/EpisodeExtractor")<
  EpisodeExtractor,
  {
    readonly name: string
    readonly extract: (input: MemcellInput) => Effect.Effect<ReadonlyArray<EpisodeDraft>, LlmError>
  }
>() {}

/** Atomic facts about the cell's user senders. */
export class FactExtractor extends Context.Tag("engram/FactExtractor")<
  FactExtractor,
  {
    readonly name: string
    readonly extract: (input: MemcellInput) => Effect.Effect<ReadonlyArray<FactDraft>, LlmError>
  }
>() {}

/** Plans and expected events, one list per user sender. */
export class ForesightExtractor extends Context.Tag("engram/ForesightExtractor")<
  ForesightExtractor,
  {
    readonly name: string
    readonly extract: (input: MemcellInput) => Effect.Effect<ReadonlyArray<ForesightDraft>, LlmError>
  }
>() {}

/** Everything one memcell gives: what the three extractors give, together. */
export interface MemcellDrafts {
  readonly episodes: ReadonlyArray<EpisodeDraft>
  readonly facts: ReadonlyArray<FactDraft>
  readonly foresight: ReadonlyArray<ForesightDraft>
}

/**
 * Episodes, facts and foresight of a memcell at once: the `memcell` job. With an LLM it is one
 * call; without this service the job runs the three extractors above.
 */
export class MemcellExtractor extends Context.Tag("engram/MemcellExtractor")<
  MemcellExtractor,
  {
    readonly name: string
    readonly extract: (input: MemcellInput) => Effect.Effect<MemcellDrafts, LlmError>
  }
>() {}

/** Options every implementation takes. */
export interface ExtractorOptions {
  /** IANA zone dates are shown and resolved in (the user's calendar). Default UTC. */
  readonly timeZone?: string
}

// ---------------------------------------------------------------------------------------------
// Senders
// ---------------------------------------------------------------------------------------------

/**
 * Distinct sender ids of the cell's `user` messages, in first-seen order. Episodes and foresight
 * are written once per user sender; assistants and tools get none.
 */
export const userSenders = (input: MemcellInput): ReadonlyArray<string> => {
  const seen = new Set<string>()
  for (const message of input.messages) {
    if (message.role === "user" && typeof message.sender_id === "string") seen.add(message.sender_id)
  }
  return Array.from(seen)
}

/** How a sender is called in text: the sender name when there is one, else the id. */
export const senderLabel = (message: Pick<StoredMessage, "sender_id" | "sender_name">): string => {
  const name = typeof message.sender_name === "string" ? message.sender_name.trim() : ""
  return name.length > 0 ? name : String(message.sender_id ?? "unknown")
}

/** The label of `senderId` as its first message in the cell gives it. */
export const labelOfSender = (input: MemcellInput, senderId: string): string => {
  const message = input.messages.find((m) => m.sender_id === senderId)
  return message === undefined ? senderId : senderLabel(message)
}

// ---------------------------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------------------------

export const SUMMARY_MAX_CHARS = 400

const ELLIPSIS = "…"
/** A sentence end: terminal punctuation, optional closing quotes/brackets, then space or the end. */
const SENTENCE_END = /[.!?\u3002\uff01\uff1f]["'\u201d\u2019)\]]*(?=\s|$)/gu
/** A sentence cut is preferred only when it keeps at least this share of the budget. */
const MIN_SENTENCE_CUT_SHARE = 0.4

/** Never split a surrogate pair: step back one when `end` falls inside one. */
const safeEnd = (text: string, end: number): number => {
  const code = text.charCodeAt(end - 1)
  return end > 0 && code >= 0xd800 && code <= 0xdbff ? end - 1 : end
}

/**
 * `text` (whitespace collapsed) in at most `max` characters: whole when it fits; else cut after the
 * last sentence that fits (when that keeps a fair share of the budget), else at the last word
 * boundary with "…", else hard with "…". Total; never fails.
 */
export const capSummary = (text: string, max: number = SUMMARY_MAX_CHARS): string => {
  const clean = String(text ?? "").replace(/\s+/g, " ").trim()
  if (clean.length <= max) return clean
  if (max <= 0) return ""
  if (max === 1) return ELLIPSIS

  let sentenceCut = -1
  for (const match of clean.matchAll(SENTENCE_END)) {
    const end = match.index + match[0].length
    if (end > max) break
    sentenceCut = end
  }
  if (sentenceCut >= max * MIN_SENTENCE_CUT_SHARE) return clean.slice(0, sentenceCut).trim()

  // Leave room for the ellipsis.
  const room = max - ELLIPSIS.length
  const window = clean.slice(0, room + 1)
  const space = window.lastIndexOf(" ")
  const wordCut = space > room * MIN_SENTENCE_CUT_SHARE ? space : safeEnd(clean, room)
  return clean.slice(0, wordCut).replace(/[\s,;:.\-–—]+$/u, "") + ELLIPSIS
}

// ---------------------------------------------------------------------------------------------
// Safe text access (tool and assistant items come in many shapes)
// ---------------------------------------------------------------------------------------------

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The plain text of any message content: a string, or the string `text` of each item of an array
 * (joined by newlines). Anything else, including items without text, gives "". Unlike
 * `messageText` this accepts `unknown`, so a row with a missing or odd field never throws.
 */
export const safeText = (content: unknown): string => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return ""
  return content.flatMap((item) => (isRecord(item) && typeof item.text === "string" ? [item.text] : [])).join("\n")
}

/**
 * Characters of a message the local extractors analyze (title words, summary sentences, facts,
 * foresight): sentence splitting and date parsing cost a few microseconds per character on the
 * event loop, so a pasted file is read only this far. The transcript keeps the whole text.
 */
export const MAX_ANALYZED_CHARS = 32_000

/** `safeText` cut to `MAX_ANALYZED_CHARS`. */
export const analyzedText = (content: unknown): string => {
  const text = safeText(content)
  return text.length > MAX_ANALYZED_CHARS ? text.slice(0, MAX_ANALYZED_CHARS) : text
}

/** Types of the non-text items of a content array (`image_url`, ...), for a brief mention. */
export const attachmentTypes = (content: unknown): ReadonlyArray<string> =>
  Array.isArray(content)
    ? content.flatMap((item) =>
      isRecord(item) && typeof item.text !== "string" ? [typeof item.type === "string" ? item.type : "item"] : []
    )
    : []

/** One tool call an assistant message asked for, with whatever fields it carried. */
export interface ToolCallInfo {
  readonly id: string | undefined
  /** Undefined when the call carries no function name. */
  readonly name: string | undefined
  /** The arguments as text (JSON as sent), or "" when absent. */
  readonly arguments: string
}

/** The tool calls of a message, OpenAI-style (`{id, function: {name, arguments}}`) or flat (`{name}`). */
export const toolCallsOf = (message: Pick<StoredMessage, "tool_calls">): ReadonlyArray<ToolCallInfo> => {
  const calls: unknown = message.tool_calls
  if (!Array.isArray(calls)) return []
  return calls.flatMap((call): ReadonlyArray<ToolCallInfo> => {
    if (!isRecord(call)) return []
    const fn = isRecord(call.function) ? call.function : call
    const name = typeof fn.name === "string" && fn.name.length > 0 ? fn.name : undefined
    const args = fn.arguments ?? fn.args ?? fn.input
    return [{
      id: typeof call.id === "string" ? call.id : undefined,
      name,
      arguments: args === undefined || args === null ? "" : typeof args === "string" ? args : safeJson(args)
    }]
  })
}

const safeJson = (u: unknown): string => {
  try {
    return JSON.stringify(u) ?? ""
  } catch {
    return ""
  }
}

/**
 * The name of the tool whose result `message` carries: the matching call (by `tool_call_id`) of
 * an earlier message, else the tool message's own sender label.
 */
export const toolNameOf = (message: StoredMessage, messages: ReadonlyArray<StoredMessage>): string => {
  if (typeof message.tool_call_id === "string") {
    // Ids and names only: rendering every call's arguments for every tool result would be
    // quadratic in the cell's size.
    for (const other of messages) {
      if (!Array.isArray(other.tool_calls)) continue
      for (const call of other.tool_calls as ReadonlyArray<unknown>) {
        if (!isRecord(call) || call.id !== message.tool_call_id) continue
        const fn = isRecord(call.function) ? call.function : call
        if (typeof fn.name === "string" && fn.name.length > 0) return fn.name
      }
    }
  }
  return senderLabel(message)
}

/** "tool get_weather", or "a tool" when the call has no name. */
export const toolPhrase = (name: string | undefined): string => name === undefined ? "a tool" : `tool ${name}`

/** `text` on one line, at most `max` characters (word-cut with "…"). */
export const brief = (text: string, max: number): string => {
  const line = text.replace(/\s+/g, " ").trim()
  if (line.length <= max) return line
  const room = max - ELLIPSIS.length
  const space = line.lastIndexOf(" ", room)
  return line.slice(0, space > room / 2 ? space : safeEnd(line, room)) + ELLIPSIS
}

/**
 * What a model should read for one message: its text, plus brief notes on tool calls, tool
 * results and attachments, so no message is ever blank or crashes the prompt.
 */
export const promptText = (message: StoredMessage, messages: ReadonlyArray<StoredMessage>): string => {
  const text = safeText(message.content).trim()
  const notes: Array<string> = []
  if (message.role === "tool") {
    return `(tool ${toolNameOf(message, messages)} returned: ${text.length > 0 ? brief(text, 300) : "no text"})`
  }
  for (const call of toolCallsOf(message)) {
    notes.push(`(called ${toolPhrase(call.name)}${call.arguments.length > 0 ? ` with ${brief(call.arguments, 200)}` : ""})`)
  }
  for (const type of attachmentTypes(message.content)) notes.push(`(attached ${type})`)
  const parts = [text, ...notes].filter((p) => p.length > 0)
  return parts.length > 0 ? parts.join(" ") : "(no text)"
}

// ---------------------------------------------------------------------------------------------
// Wall-clock time in a zone
// ---------------------------------------------------------------------------------------------

export const DAY_MS = 86_400_000

/** The zone's UTC offset at `epochMs`, in minutes (east positive). */
export const offsetMinutesAt = (calendar: ZonedCalendar, epochMs: number): number => {
  const iso = calendar.isoWithOffset(epochMs)
  const match = /([+-])(\d{2}):(\d{2})$/.exec(iso)
  if (match === null) return 0
  const minutes = Number(match[2]) * 60 + Number(match[3])
  return match[1] === "-" ? -minutes : minutes
}

/**
 * Epoch ms of a wall-clock time in the zone. Two passes settle the offset across a DST change; a
 * wall time that does not exist (skipped by DST) lands an hour off, which is fine for dates.
 */
export const zonedWallTime = (
  calendar: ZonedCalendar,
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
  ms = 0
): number => {
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, ms)
  const first = wall - offsetMinutesAt(calendar, wall) * 60_000
  return wall - offsetMinutesAt(calendar, first) * 60_000
}

/** Start of the zone's calendar day containing `epochMs`. */
export const zonedDayStart = (calendar: ZonedCalendar, epochMs: number): number => {
  const [y, m, d] = calendar.date(epochMs).split("-").map(Number)
  return zonedWallTime(calendar, y ?? 1970, m ?? 1, d ?? 1)
}

/** Last millisecond of the zone's calendar day containing `epochMs`. */
export const zonedDayEnd = (calendar: ZonedCalendar, epochMs: number): number =>
  zonedDayStart(calendar, zonedDayStart(calendar, epochMs) + DAY_MS + 3 * 3_600_000) - 1

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const ISO_LOCAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?$/
const ISO_ZONED_DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i

/** A parsed ISO date or date-time; `dateOnly` when no time was given. */
export interface ZonedInstant {
  readonly epochMs: number
  readonly dateOnly: boolean
}

const validDate = (y: number, m: number, d: number): boolean => {
  const probe = new Date(Date.UTC(y, m - 1, d))
  return probe.getUTCFullYear() === y && probe.getUTCMonth() === m - 1 && probe.getUTCDate() === d
}

/**
 * An ISO-8601 date (`2024-05-10`, the start of that day in the zone), a date-time without an
 * offset (wall-clock time in the zone) or with one (taken as is). Undefined for anything else,
 * including impossible dates like `2024-02-31`.
 */
export const parseIsoInZone = (calendar: ZonedCalendar, text: string): ZonedInstant | undefined => {
  const s = text.trim()
  const date = ISO_DATE.exec(s)
  if (date !== null) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])]
    return validDate(y, m, d) ? { epochMs: zonedWallTime(calendar, y, m, d), dateOnly: true } : undefined
  }
  const local = ISO_LOCAL_DATETIME.exec(s)
  if (local !== null) {
    const [y, m, d, h, min, sec] = [1, 2, 3, 4, 5, 6].map((i) => Number(local[i] ?? 0)) as [
      number,
      number,
      number,
      number,
      number,
      number
    ]
    const ms = Number((local[7] ?? "0").padEnd(3, "0"))
    if (!validDate(y, m, d) || h > 23 || min > 59 || sec > 59) return undefined
    return { epochMs: zonedWallTime(calendar, y, m, d, h, min, sec, ms), dateOnly: false }
  }
  if (ISO_ZONED_DATETIME.test(s)) {
    const epochMs = Date.parse(s.replace(" ", "T"))
    const [y, m, d] = s.slice(0, 10).split("-").map(Number)
    return Number.isNaN(epochMs) || !validDate(y ?? 0, m ?? 0, d ?? 0) ? undefined : { epochMs, dateOnly: false }
  }
  return undefined
}

/** `2024-05-06 20:00 UTC` or `2024-05-06 22:00 UTC+02:00`: a date and time a reader can place. */
export const formatWallTime = (calendar: ZonedCalendar, epochMs: number): string => {
  const iso = calendar.isoWithOffset(epochMs)
  const offset = iso.endsWith("Z") ? "UTC" : `UTC${iso.slice(19)}`
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} ${offset}`
}
