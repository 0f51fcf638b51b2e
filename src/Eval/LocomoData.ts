/**
 * # LoCoMo data
 *
 * Loads a LoCoMo file (`locomo10.json`: an array of conversations) through effect/Schema into a
 * shape the eval can use: per conversation its two speakers, its sessions in order (each with the
 * start time parsed from `session_N_date_time` and its turns), and its questions with evidence
 * turn ids cleaned up.
 *
 * The data set has small defects that are handled here, each counted so a report can say so:
 * evidence written as one string (`"D8:6; D9:17"`, `"D9:1 D4:4"`), with a stray colon
 * (`"D:11:26"`) or a leading zero (`"D30:05"`), unparseable (`"D"`), or naming a turn that does
 * not exist in the conversation. Unparseable and unknown ids are dropped from a question's
 * evidence (no retriever could ever return them); a question left with no evidence is not scored.
 */
import { Effect, ParseResult, Schema } from "effect"
import * as Fs from "node:fs/promises"
import { firstIssue } from "../Domain/Validation.js"
import { englishMonth } from "../Text/EnglishMonths.js"

export class LocomoDataError extends Schema.TaggedError<LocomoDataError>()("LocomoDataError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.path}: ${this.reason}`
  }
}

/** `1:56 pm on 8 May, 2023` (the only form the data set uses), read as UTC wall-clock time. */
const SESSION_DATE_TIME = /^\s*(\d{1,2}):(\d{2})\s*([ap])\.?m\.?\s+on\s+(\d{1,2})\s+([a-z]+),?\s+(\d{4})\s*$/i

export const parseSessionDateTime = (text: string): number | undefined => {
  const match = SESSION_DATE_TIME.exec(text)
  if (match === null) return undefined
  const [hour12, minute, meridiem, day, monthName, year] = [
    Number(match[1]),
    Number(match[2]),
    match[3]!.toLowerCase(),
    Number(match[4]),
    match[5]!.toLowerCase(),
    Number(match[6])
  ]
  const month = (englishMonth(monthName) ?? 0) - 1
  if (month < 0 || hour12 < 1 || hour12 > 12 || minute > 59) return undefined
  const hour = (hour12 % 12) + (meridiem === "p" ? 12 : 0)
  const epochMs = Date.UTC(year, month, day, hour, minute)
  // Date.UTC rolls 31 June over into July: refuse dates that do not exist.
  return new Date(epochMs).getUTCDate() === day ? epochMs : undefined
}

const SessionDateTime = Schema.transformOrFail(Schema.String, Schema.Number, {
  strict: true,
  decode: (text, _, ast) => {
    const epochMs = parseSessionDateTime(text)
    return epochMs === undefined
      ? ParseResult.fail(new ParseResult.Type(ast, text, `is not a session date like "1:56 pm on 8 May, 2023"`))
      : ParseResult.succeed(epochMs)
  },
  encode: (epochMs, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, epochMs, "session dates are read only"))
})

/** One turn as the file has it; image metadata other than the caption is ignored. */
const RawTurn = Schema.Struct({
  speaker: Schema.String.pipe(Schema.minLength(1)),
  dia_id: Schema.String.pipe(Schema.minLength(1)),
  text: Schema.String,
  blip_caption: Schema.optional(Schema.NullOr(Schema.String))
})

const RawQuestion = Schema.Struct({
  question: Schema.String,
  // Adversarial questions (category 5) carry `adversarial_answer` instead; a few answers are numbers.
  answer: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Number))),
  evidence: Schema.Array(Schema.String),
  category: Schema.Int
})

const RawConversation = Schema.Struct({
  sample_id: Schema.String,
  conversation: Schema.Struct(
    { speaker_a: Schema.String.pipe(Schema.minLength(1)), speaker_b: Schema.String.pipe(Schema.minLength(1)) },
    // `session_N` (turns) and `session_N_date_time`, picked apart below.
    Schema.Record({ key: Schema.String, value: Schema.Unknown })
  ),
  qa: Schema.Array(RawQuestion)
})

const LocomoFile = Schema.Array(RawConversation)

export interface LocomoTurn {
  readonly dia_id: string
  readonly speaker: string
  readonly text: string
  readonly blip_caption?: string
}

export interface LocomoSession {
  /** N of `session_N`. */
  readonly index: number
  readonly dateTime: string
  /** `dateTime` as epoch ms (UTC). */
  readonly startMs: number
  readonly turns: ReadonlyArray<LocomoTurn>
}

/** 1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop, 5 adversarial. */
export type LocomoCategory = 1 | 2 | 3 | 4 | 5

export const CATEGORY_NAMES: Readonly<Record<LocomoCategory, string>> = {
  1: "multi-hop",
  2: "temporal",
  3: "open-domain",
  4: "single-hop",
  5: "adversarial"
}

export interface LocomoQuestion {
  /** Position in the conversation's `qa` list. */
  readonly index: number
  readonly question: string
  readonly answer: string
  readonly category: LocomoCategory
  /** Normalised evidence turn ids that exist in the conversation, without repeats. */
  readonly evidence: ReadonlyArray<string>
  /** Evidence tokens that are not turn ids at all (e.g. `"D"`). */
  readonly malformedEvidence: ReadonlyArray<string>
  /** Well-formed evidence ids naming no turn of the conversation. */
  readonly unknownEvidence: ReadonlyArray<string>
}

export interface LocomoConversation {
  readonly sampleId: string
  readonly speakerA: string
  readonly speakerB: string
  readonly sessions: ReadonlyArray<LocomoSession>
  readonly questions: ReadonlyArray<LocomoQuestion>
}

const EVIDENCE_ID = /^D:?(\d+):(\d+)$/i

/**
 * The turn ids in evidence strings as the data set writes them: one id per string, or several in
 * one string separated by `;`, `,` or spaces; `D:11:26` and `D30:05` are read as `D11:26` and
 * `D30:5`. Returns the ids in order without repeats, and the tokens that are not ids.
 */
export const parseEvidence = (
  raw: ReadonlyArray<string>
): { readonly ids: ReadonlyArray<string>; readonly malformed: ReadonlyArray<string> } => {
  const ids: Array<string> = []
  const malformed: Array<string> = []
  for (const entry of raw) {
    for (const token of entry.split(/[\s;,]+/)) {
      if (token.length === 0) continue
      const match = EVIDENCE_ID.exec(token)
      if (match === null) {
        malformed.push(token)
        continue
      }
      const id = `D${Number(match[1])}:${Number(match[2])}`
      if (!ids.includes(id)) ids.push(id)
    }
  }
  return { ids, malformed }
}

/**
 * What a reader of the turn sees: its text, plus the caption of a shared photo (the data set's
 * stand-in for the image, which often carries the answer).
 */
export const turnText = (turn: LocomoTurn): string =>
  turn.blip_caption === undefined || turn.blip_caption.trim().length === 0
    ? turn.text
    : `${turn.text} [shared a photo: ${turn.blip_caption.trim()}]`

const SESSION_KEY = /^session_(\d+)$/

const sessionsOf = (path: string, raw: typeof RawConversation.Type) =>
  Effect.gen(function*() {
    const sessions: Array<LocomoSession> = []
    for (const [key, value] of Object.entries(raw.conversation)) {
      const match = SESSION_KEY.exec(key)
      if (match === null || !Array.isArray(value)) continue
      const where = `${raw.sample_id}.conversation.${key}`
      const turns = yield* Schema.decodeUnknown(Schema.Array(RawTurn))(value).pipe(
        Effect.mapError((error) => new LocomoDataError({ path, reason: `${where}: ${firstIssue(error).text}` }))
      )
      if (turns.length === 0) continue
      const dateTime = raw.conversation[`${key}_date_time`]
      const startMs = yield* Schema.decodeUnknown(SessionDateTime)(dateTime).pipe(
        Effect.mapError((error) => new LocomoDataError({ path, reason: `${where}_date_time ${firstIssue(error).text}` }))
      )
      sessions.push({
        index: Number(match[1]),
        dateTime: String(dateTime),
        startMs,
        turns: turns.map((t) => ({
          dia_id: t.dia_id,
          speaker: t.speaker,
          text: t.text,
          ...(typeof t.blip_caption === "string" ? { blip_caption: t.blip_caption } : {})
        }))
      })
    }
    return sessions.sort((a, b) => a.index - b.index)
  })

const isCategory = (n: number): n is LocomoCategory => n >= 1 && n <= 5

const toConversation = (path: string, raw: typeof RawConversation.Type) =>
  Effect.gen(function*() {
    const sessions = yield* sessionsOf(path, raw)
    const turnIds = new Set<string>()
    for (const session of sessions) {
      for (const turn of session.turns) {
        if (turnIds.has(turn.dia_id)) {
          return yield* new LocomoDataError({ path, reason: `${raw.sample_id}: turn id ${turn.dia_id} appears twice` })
        }
        turnIds.add(turn.dia_id)
      }
    }
    const questions: Array<LocomoQuestion> = []
    for (const [index, qa] of raw.qa.entries()) {
      if (!isCategory(qa.category)) {
        return yield* new LocomoDataError({ path, reason: `${raw.sample_id}.qa.${index}.category must be 1-5, got ${qa.category}` })
      }
      const { ids, malformed } = parseEvidence(qa.evidence)
      questions.push({
        index,
        question: qa.question,
        answer: qa.answer === undefined || qa.answer === null ? "" : String(qa.answer),
        category: qa.category,
        evidence: ids.filter((id) => turnIds.has(id)),
        malformedEvidence: malformed,
        unknownEvidence: ids.filter((id) => !turnIds.has(id))
      })
    }
    return {
      sampleId: raw.sample_id,
      speakerA: raw.conversation.speaker_a,
      speakerB: raw.conversation.speaker_b,
      sessions,
      questions
    } satisfies LocomoConversation
  })

/** Decodes the text of a LoCoMo file; `path` only names it in errors. */
export const parseLocomo = (path: string, text: string) =>
  Effect.gen(function*() {
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (cause) => new LocomoDataError({ path, reason: `not valid JSON: ${(cause as Error).message}` })
    })
    const raw = yield* Schema.decodeUnknown(LocomoFile)(json).pipe(
      Effect.mapError((error) => new LocomoDataError({ path, reason: firstIssue(error).text }))
    )
    return yield* Effect.forEach(raw, (conversation) => toConversation(path, conversation))
  })

/** Reads and decodes a LoCoMo file. */
export const loadLocomo = (path: string) =>
  Effect.tryPromise({
    try: () => Fs.readFile(path, "utf8"),
    catch: (cause) => new LocomoDataError({ path, reason: `cannot read: ${(cause as Error).message}` })
  }).pipe(Effect.flatMap((text) => parseLocomo(path, text)))
