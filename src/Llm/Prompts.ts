import { Schema } from "effect"
import type { ZonedCalendar } from "../Text/Calendar.js"

/**
 * Every prompt Engram sends lives here, each with a version constant (bump it whenever the wording
 * or the contract changes, so stored results can say which prompt produced them) and the Schema of
 * the JSON answer it asks for.
 *
 * Prompt economy (what a remembered message costs is mostly these tokens): system prompts are
 * constant strings sent first, so providers' prompt caching applies to them; an instruction is
 * given once, in the system prompt, never repeated in the user prompt; transcripts use one compact
 * line per message, `[N] HH:MM sender: text`, with the date written only on the first line and
 * when it changes, and the time zone named once.
 */

// ---------------------------------------------------------------------------------------------
// Transcripts
// ---------------------------------------------------------------------------------------------

/** One transcript line: when, who, what (content kept on one line by the formatter). */
export interface TranscriptLine {
  /** Epoch milliseconds. */
  readonly at: number
  readonly sender: string
  readonly content: string
}

/**
 * `[N] YYYY-MM-DD HH:MM sender: text` for the first line and whenever the date changes, else
 * `[N] HH:MM sender: text`; newlines in the text are written as `\n`, so one message is one line.
 */
export const formatTranscriptLines = (lines: ReadonlyArray<TranscriptLine>, calendar: ZonedCalendar): string => {
  let previousDate = ""
  return lines.map((line, i) => {
    const iso = calendar.isoWithOffset(line.at)
    const date = iso.slice(0, 10)
    const time = iso.slice(11, 16)
    const when = date === previousDate ? time : `${date} ${time}`
    previousDate = date
    return `[${i + 1}] ${when} ${line.sender}: ${line.content.replace(/\r?\n/g, "\\n")}`
  }).join("\n")
}

/** The transcript with its one-line header naming the time zone of every time shown. */
export const transcriptBlock = (lines: ReadonlyArray<TranscriptLine>, calendar: ZonedCalendar, timeZone: string): string =>
  `Times in ${timeZone}.\n${formatTranscriptLines(lines, calendar)}`

// ---------------------------------------------------------------------------------------------
// Boundary detection
// ---------------------------------------------------------------------------------------------

export const BOUNDARY_PROMPT_VERSION = "boundary/2"

/**
 * The boundary answer contract:
 *
 * ```json
 * {"boundaries": [3, 7], "should_wait": false}
 * ```
 *
 * - `boundaries`: 1-based message numbers; `b` means "cut after message b". Required, an array of
 *   integers (may be empty). Out-of-range values and duplicates are dropped by the caller.
 * - `should_wait`: the model thinks the last topic is still open. Read when it is a boolean and
 *   ignored otherwise: the selective strategy asks again as soon as new messages follow a topic the
 *   model called finished.
 * - `reasoning` (EverOS asks for it) is accepted and ignored; not asking for it saves tokens.
 *
 * Only `boundaries` is decoded strictly: a reply with a usable cut list but an odd `should_wait`
 * must not cost another model call.
 */
export const BoundaryAnswer = Schema.Struct({
  boundaries: Schema.Array(Schema.Int),
  should_wait: Schema.optional(Schema.Unknown)
})
export type BoundaryAnswer = typeof BoundaryAnswer.Type

export const BOUNDARY_SYSTEM_PROMPT = `You split a chat transcript into topical episodes for a long-term memory system.
Input: numbered messages "[N] time sender: text"; a line shows the date when it changes.
Boundary b means "cut after message b".
Cut when the conversation turns to a substantively different topic, when a finished task (question answered, problem solved, plan agreed) is followed by a new topic, or when over 4 hours pass and the later message starts a new topic.
Otherwise merge: messages about the same subject, task or thread stay together; greetings, thanks, acknowledgements and small talk join the neighbouring topic.
Answer with JSON only: {"boundaries": [<message numbers, ascending; [] for one episode>], "should_wait": <true when the last topic still looks unfinished>}`

export const boundaryUserPrompt = (lines: ReadonlyArray<TranscriptLine>, calendar: ZonedCalendar, timeZone: string): string =>
  transcriptBlock(lines, calendar, timeZone)

// ---------------------------------------------------------------------------------------------
// Extraction: shared pieces
// ---------------------------------------------------------------------------------------------

/** A non-blank string, trimmed. An empty required field makes the answer malformed. */
const NonBlankText = Schema.compose(Schema.Trim, Schema.NonEmptyString)

const ISO_DATE_OR_DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i

/** `YYYY-MM-DD`, optionally with a time and offset, naming a real calendar date and clock time. */
export const isIsoDateOrDateTime = (s: string): boolean => {
  const match = ISO_DATE_OR_DATETIME.exec(s.trim())
  if (match === null) return false
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const probe = new Date(Date.UTC(y, m - 1, d))
  const realDate = probe.getUTCFullYear() === y && probe.getUTCMonth() === m - 1 && probe.getUTCDate() === d
  return realDate && Number(match[4] ?? 0) <= 23 && Number(match[5] ?? 0) <= 59 && Number(match[6] ?? 0) <= 59
}

const IsoDateOrDateTime = Schema.Trim.pipe(
  Schema.filter(isIsoDateOrDateTime, { message: () => "must be an ISO-8601 date (YYYY-MM-DD) or date-time" })
)

/** Who speaks in a transcript, so the model can tell users from the assistant and tools. */
export interface ExtractionParticipant {
  readonly label: string
  readonly sender_id: string
  readonly role: string
}

/** `Participants: Alice (alice, user); assistant (assistant, assistant)` on one line. */
const participantsLine = (participants: ReadonlyArray<ExtractionParticipant>): string =>
  `Participants: ${participants.map((p) => `${p.label} (${p.sender_id}, ${p.role})`).join("; ")}`

// ---------------------------------------------------------------------------------------------
// Extraction: episodes
// ---------------------------------------------------------------------------------------------

export const EPISODE_PROMPT_VERSION = "episode/2"

/**
 * The episode answer contract:
 *
 * ```json
 * {"title": "...", "content": "...", "summary": "..."}
 * ```
 *
 * All three are required and must not be blank. A summary longer than 400 characters is not an
 * error: the caller shortens it at a sentence boundary.
 */
export const EpisodeAnswer = Schema.Struct({
  title: NonBlankText,
  content: NonBlankText,
  summary: NonBlankText
})
export type EpisodeAnswer = typeof EpisodeAnswer.Type

export const EPISODE_SYSTEM_PROMPT = `You write episodic memories for a long-term memory system of an AI assistant.

Input: the participants, then one segment of a chat transcript, one message per line: "[N] time sender: text"; a line shows the date when it changes. Tool calls and results appear as short notes in parentheses.

Write the episode from the perspective of the user named in the request: what happened in this segment, as that user would want it remembered.

Rules:
1. Write in the third person and name people by name ("Alice asked...", "The assistant suggested..."); never "I" or "you".
2. Use absolute dates and times: resolve "tomorrow", "next Friday" and the like against the timestamp of the message that says them.
3. Keep every concrete detail that could matter later: names, places, numbers, decisions, plans, preferences, tool results.
4. Do not invent anything that is not in the transcript.
5. "title": a short, specific title (at most 10 words).
6. "content": a faithful narrative of the whole segment in chronological order.
7. "summary": one to three sentences, at most 400 characters.

Answer with a single JSON object and nothing else:
{"title": "<title>", "content": "<narrative>", "summary": "<summary>"}`

export const episodeUserPrompt = (
  perspective: ExtractionParticipant,
  participants: ReadonlyArray<ExtractionParticipant>,
  lines: ReadonlyArray<TranscriptLine>,
  calendar: ZonedCalendar,
  timeZone: string
): string =>
  `Write the episode for ${perspective.label} (sender_id "${perspective.sender_id}").\n${participantsLine(participants)}\n${
    transcriptBlock(lines, calendar, timeZone)
  }`

// ---------------------------------------------------------------------------------------------
// Extraction: facts
// ---------------------------------------------------------------------------------------------

export const FACT_PROMPT_VERSION = "fact/2"

/**
 * The fact answer contract:
 *
 * ```json
 * {"facts": [{"content": "Alice is allergic to peanuts.", "message_numbers": [3]}]}
 * ```
 *
 * - `facts`: required (may be empty).
 * - `message_numbers`: 1-based numbers of the supporting messages. Out-of-range numbers are
 *   dropped by the caller, and a fact left with no source is dropped; so is a blank `content`.
 *   Neither costs another model call.
 */
export const FactAnswer = Schema.Struct({
  facts: Schema.Array(
    Schema.Struct({
      content: Schema.String,
      message_numbers: Schema.Array(Schema.Int)
    })
  )
})
export type FactAnswer = typeof FactAnswer.Type

export const FACT_SYSTEM_PROMPT = `You extract atomic facts about the users of a chat for a long-term memory system.

Input: the participants, then one segment of a chat transcript, one message per line: "[N] time sender: text"; a line shows the date when it changes. Tool calls and results appear as short notes in parentheses.

Extract facts about the users (never about the assistant): who they are, their relationships, work, places, health, preferences, possessions, habits, past events and decisions.

Rules:
1. One fact per statement; each fact must be understandable on its own, without the transcript.
2. Write in the third person and name the user ("Alice is allergic to peanuts."); never "I", "my" or "you".
3. Replace relative dates with absolute ones, resolved against the timestamp of the message that says them.
4. Only state what the transcript supports; do not guess or generalise.
5. Skip greetings, small talk, questions, and requests to the assistant.
6. "message_numbers" lists the numbers of the messages that support the fact.

Answer with a single JSON object and nothing else:
{"facts": [{"content": "<fact>", "message_numbers": [<numbers>]}]}
Use {"facts": []} when there is nothing worth remembering.`

export const factUserPrompt = (
  participants: ReadonlyArray<ExtractionParticipant>,
  lines: ReadonlyArray<TranscriptLine>,
  calendar: ZonedCalendar,
  timeZone: string
): string => `${participantsLine(participants)}\n${transcriptBlock(lines, calendar, timeZone)}`

// ---------------------------------------------------------------------------------------------
// Extraction: foresight
// ---------------------------------------------------------------------------------------------

export const FORESIGHT_PROMPT_VERSION = "foresight/2"

/**
 * The foresight answer contract:
 *
 * ```json
 * {"items": [{"content": "Alice flies to Lisbon.", "start_time": "2024-05-10", "end_time": null,
 *   "duration_days": 3, "evidence": "Next Friday I'm flying to Lisbon", "message_numbers": [1]}]}
 * ```
 *
 * - `start_time`: an ISO date (the start of that day in the user's zone) or date-time (without an
 *   offset it is the user's wall-clock time). Required.
 * - `end_time`: the same formats, or null / absent; a date alone means the end of that day.
 * - `duration_days`: used for the end when `end_time` is absent.
 * - `message_numbers`: as for facts; an item left with no valid source is dropped by the caller.
 */
export const ForesightAnswer = Schema.Struct({
  items: Schema.Array(
    Schema.Struct({
      content: NonBlankText,
      start_time: IsoDateOrDateTime,
      end_time: Schema.optional(Schema.NullOr(IsoDateOrDateTime)),
      duration_days: Schema.optional(Schema.NullOr(Schema.Number.pipe(Schema.nonNegative()))),
      evidence: Schema.String,
      message_numbers: Schema.Array(Schema.Int)
    })
  )
})
export type ForesightAnswer = typeof ForesightAnswer.Type

export const FORESIGHT_SYSTEM_PROMPT = `You extract foresight for a long-term memory system: what a user plans, intends or expects to happen, with when.

Input: the participants, then one segment of a chat transcript, one message per line: "[N] time sender: text"; a line shows the date when it changes. Tool calls and results appear as short notes in parentheses.

Extract only items about the user named in the request: their plans, appointments, trips, deadlines, intentions and expected events.

Rules:
1. Resolve every relative time ("tomorrow", "next Friday", "in two weeks") against the timestamp of the message that says it, in the user's time zone.
2. "start_time": when it begins, as YYYY-MM-DD, or YYYY-MM-DDTHH:MM when a time of day is known (the user's local time). When no time is stated but the intent is clear, use the date of the message.
3. "end_time": when it ends, in the same format, or null when unknown. "duration_days" may give the length instead.
4. "content": a self-contained third-person statement naming the user and the absolute date ("Alice flies to Lisbon on 2024-05-10.").
5. "evidence": the words of the transcript the item rests on, quoted briefly.
6. "message_numbers": the numbers of the supporting messages.
7. Skip past events, habits, hypotheticals and plans the user has cancelled.

Answer with a single JSON object and nothing else:
{"items": [{"content": "<statement>", "start_time": "<date>", "end_time": null, "duration_days": null, "evidence": "<quote>", "message_numbers": [<numbers>]}]}
Use {"items": []} when there is none.`

export const foresightUserPrompt = (
  perspective: ExtractionParticipant,
  participants: ReadonlyArray<ExtractionParticipant>,
  lines: ReadonlyArray<TranscriptLine>,
  calendar: ZonedCalendar,
  timeZone: string
): string =>
  `Extract foresight for ${perspective.label} (sender_id "${perspective.sender_id}"), whose time zone is ${timeZone}.\n${
    participantsLine(participants)
  }\n${transcriptBlock(lines, calendar, timeZone)}`

// ---------------------------------------------------------------------------------------------
// Extraction: everything from one memcell in one call
// ---------------------------------------------------------------------------------------------

export const MEMCELL_EXTRACTION_PROMPT_VERSION = "memcell/1"

/**
 * The combined answer contract: an episode per user, the facts, and each user's foresight.
 *
 * ```json
 * {"episodes": [{"user": "alice", "title": "...", "content": "...", "summary": "..."}],
 *  "facts": [{"content": "Alice is allergic to peanuts.", "lines": [3]}],
 *  "foresight": [{"user": "alice", "content": "Alice flies to Lisbon on 2024-05-10.", "start": "2024-05-10",
 *    "end": null, "evidence": "Next Friday I'm flying to Lisbon", "lines": [1]}]}
 * ```
 *
 * Episode fields as in `EpisodeAnswer`, foresight times as in `ForesightAnswer`, `lines` as their
 * `message_numbers`. The caller checks that every user of the cell has exactly one episode (an
 * answer missing one is malformed: asked again); items naming no user of the cell are dropped.
 */
export const MemcellExtractionAnswer = Schema.Struct({
  episodes: Schema.Array(Schema.Struct({
    user: Schema.String,
    title: NonBlankText,
    content: NonBlankText,
    summary: NonBlankText
  })),
  facts: Schema.Array(Schema.Struct({
    content: Schema.String,
    lines: Schema.Array(Schema.Int)
  })),
  foresight: Schema.Array(Schema.Struct({
    user: Schema.String,
    content: NonBlankText,
    start: IsoDateOrDateTime,
    end: Schema.optional(Schema.NullOr(IsoDateOrDateTime)),
    duration_days: Schema.optional(Schema.NullOr(Schema.Number.pipe(Schema.nonNegative()))),
    evidence: Schema.String,
    lines: Schema.Array(Schema.Int)
  }))
})
export type MemcellExtractionAnswer = typeof MemcellExtractionAnswer.Type

export const MEMCELL_EXTRACTION_SYSTEM_PROMPT = `You turn one segment of a chat into long-term memory about its users.
Input: the users, the other participants, then the transcript, one message per line: "[N] time sender: text"; a line shows the date when it changes. Tool calls and results appear as short notes in parentheses.
Everywhere: write in the third person and name people ("Alice asked...", "The assistant suggested..."), never "I" or "you"; resolve relative times ("tomorrow", "next Friday", "in two weeks") against the date of the message that says them, into absolute dates; keep concrete details (names, places, numbers, decisions, plans, preferences, tool results); state only what the transcript supports.
1. "episodes": exactly one per user, from that user's perspective: "title" (at most 10 words), "content" (a faithful narrative of the whole segment in chronological order), "summary" (one to three sentences, at most 400 characters).
2. "facts": atomic facts about the users, never the assistant (identity, relationships, work, places, health, preferences, possessions, habits, past events, decisions); one self-contained statement each; skip greetings, small talk, questions and requests to the assistant; "lines" lists the supporting message numbers.
3. "foresight": per user, what they plan, intend or expect (appointments, trips, deadlines, intentions, expected events), not past events, habits, hypotheticals or cancelled plans: "content" states it with the absolute date; "start" is YYYY-MM-DD, or YYYY-MM-DDTHH:MM when a time of day is known (the user's local time; the message date when the intent is clear but no time is stated); "end" the same or null ("duration_days" may give the length instead); "evidence" quotes the transcript briefly; "lines" as for facts.
Answer with JSON only:
{"episodes": [{"user": "<sender id>", "title": "", "content": "", "summary": ""}], "facts": [{"content": "", "lines": [<N>]}], "foresight": [{"user": "<sender id>", "content": "", "start": "", "end": null, "evidence": "", "lines": [<N>]}]}`

export const memcellExtractionUserPrompt = (
  users: ReadonlyArray<ExtractionParticipant>,
  others: ReadonlyArray<ExtractionParticipant>,
  lines: ReadonlyArray<TranscriptLine>,
  calendar: ZonedCalendar,
  timeZone: string
): string => {
  const named = (p: ExtractionParticipant) => p.label === p.sender_id ? p.sender_id : `${p.sender_id} (${p.label})`
  const header = `Users: ${users.map(named).join("; ")}` +
    (others.length > 0 ? `\nOthers: ${others.map((p) => `${named(p)}, ${p.role}`).join("; ")}` : "")
  return `${header}\n${transcriptBlock(lines, calendar, timeZone)}`
}

// ---------------------------------------------------------------------------------------------
// Search: LLM rerank and agentic retrieval
// ---------------------------------------------------------------------------------------------

/** One retrieved memory as the search prompts show it: its number and a one-paragraph text. */
export interface SearchCandidate {
  readonly n: number
  readonly text: string
}

const candidateLines = (candidates: ReadonlyArray<SearchCandidate>): string =>
  candidates.map((c) => `[${c.n}] ${c.text.replace(/\s+/g, " ").trim()}`).join("\n")

export const RERANK_PROMPT_VERSION = "rerank/1"

/**
 * The rerank answer contract: `{"ranked": [{"id": 2, "score": 0.9}, ...]}` — `id` is a candidate
 * number, `score` the relevance in [0, 1]. Unknown numbers and repeats are dropped by the caller.
 */
export const RerankAnswer = Schema.Struct({
  ranked: Schema.Array(Schema.Struct({ id: Schema.Int, score: Schema.Number.pipe(Schema.between(0, 1)) }))
})
export type RerankAnswer = typeof RerankAnswer.Type

export const RERANK_SYSTEM_PROMPT = `You judge how relevant retrieved memories are to a query, for the search of a long-term memory system.
Input: the query, then numbered candidate memories "[N] text".
Score every candidate from 0 (useless for answering the query) to 1 (answers it directly). Judge the content only, not the wording or the order given.
Answer with JSON only: {"ranked": [{"id": N, "score": S}, ...]}, best first.`

export const rerankUserPrompt = (query: string, candidates: ReadonlyArray<SearchCandidate>): string =>
  `Query: ${query.replace(/\s+/g, " ").trim()}\nCandidates:\n${candidateLines(candidates)}`

export const SUFFICIENCY_PROMPT_VERSION = "sufficiency/1"

/**
 * The sufficiency answer contract: `{"is_sufficient": false, "missing_information": ["..."]}`.
 * `reasoning` and `key_information_found` (EverOS asks for them) are accepted and ignored.
 */
export const SufficiencyAnswer = Schema.Struct({
  is_sufficient: Schema.Boolean,
  missing_information: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
})
export type SufficiencyAnswer = typeof SufficiencyAnswer.Type

export const SUFFICIENCY_SYSTEM_PROMPT = `You decide whether retrieved memories hold enough information to answer a query, for a long-term memory system.
Input: the query, then numbered memories "[N] text" (there may be none).
Answer with JSON only: {"is_sufficient": true|false, "missing_information": ["what is still needed", ...]}. List at most 3 missing pieces, each a short phrase.`

export const sufficiencyUserPrompt = (query: string, candidates: ReadonlyArray<SearchCandidate>): string =>
  `Query: ${query.replace(/\s+/g, " ").trim()}\nMemories:\n${candidates.length === 0 ? "(none)" : candidateLines(candidates)}`

export const COMPLEMENTARY_QUERIES_PROMPT_VERSION = "queries/1"

/** The complementary-queries answer contract: `{"queries": ["...", "..."]}` (at most 3 are run). */
export const ComplementaryQueriesAnswer = Schema.Struct({
  queries: Schema.Array(Schema.String)
})
export type ComplementaryQueriesAnswer = typeof ComplementaryQueriesAnswer.Type

export const COMPLEMENTARY_QUERIES_SYSTEM_PROMPT = `You write search queries for a long-term memory system when the first search missed something.
Input: the original query and the information still missing.
Write up to 3 short, self-contained search queries, each aimed at one missing piece, using words the memories would likely contain; do not repeat the original query.
Answer with JSON only: {"queries": ["...", ...]}`

export const complementaryQueriesUserPrompt = (query: string, missing: ReadonlyArray<string>): string =>
  `Query: ${query.replace(/\s+/g, " ").trim()}\nMissing:\n${missing.length === 0 ? "(not stated)" : missing.map((m) => `- ${m.replace(/\s+/g, " ").trim()}`).join("\n")}`
