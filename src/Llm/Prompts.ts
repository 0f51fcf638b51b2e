import { Schema } from "effect"

/**
 * Every prompt Engram sends lives here, each with a version constant (bump it whenever the wording
 * or the contract changes, so stored results can say which prompt produced them) and the Schema of
 * the JSON answer it asks for.
 */

// ---------------------------------------------------------------------------------------------
// Boundary detection
// ---------------------------------------------------------------------------------------------

export const BOUNDARY_PROMPT_VERSION = "boundary/1"

/**
 * The boundary answer contract:
 *
 * ```json
 * {"reasoning": "one or two sentences", "boundaries": [3, 7], "should_wait": false}
 * ```
 *
 * - `boundaries`: 1-based message numbers; `b` means "cut after message b". Required, an array of
 *   integers (may be empty). Out-of-range values and duplicates are dropped by the caller.
 * - `reasoning`: why; informational (useful in traces), not checked.
 * - `should_wait`: the model thinks the last topic is still open; informational, not checked.
 *
 * Only `boundaries` is decoded strictly: a reply with a usable cut list but an odd `reasoning`
 * must not cost another model call.
 */
export const BoundaryAnswer = Schema.Struct({
  boundaries: Schema.Array(Schema.Int)
})
export type BoundaryAnswer = typeof BoundaryAnswer.Type

export const BOUNDARY_SYSTEM_PROMPT = `You segment a chat transcript into topical episodes for a long-term memory system.

You receive numbered messages, one per line, in the form:
[N] [ISO-8601 timestamp] sender_name: content

Decide after which messages one episode ends and the next begins. A boundary b means "cut after message b".

Rules:
1. Merge by default. Consecutive messages about the same subject, task or thread belong together.
2. Split when the conversation changes to a substantively different topic.
3. Split after a task is finished (a question answered, a problem solved, a plan agreed) when the next message starts a new topic.
4. Split when more than 4 hours pass between two messages and the later message starts a new topic.
5. Always split between two messages whose timestamps fall on different calendar dates.
6. Never split because of greetings, thanks, acknowledgements or small talk alone; attach them to the neighbouring topic.
7. Never put a boundary after the last message: the conversation may continue.

Answer with a single JSON object and nothing else:
{"reasoning": "<one or two sentences>", "boundaries": [<message numbers>], "should_wait": <true|false>}

- "boundaries" lists message numbers in ascending order; use [] when everything is one episode.
- "should_wait" is true when the last topic still looks unfinished.`

/** One transcript line per message: `[N] [timestamp] sender: content`, content kept on one line. */
export interface BoundaryPromptLine {
  readonly timestamp: string
  readonly sender: string
  readonly content: string
}

export const formatBoundaryLines = (lines: ReadonlyArray<BoundaryPromptLine>): string =>
  lines
    .map((line, i) => `[${i + 1}] [${line.timestamp}] ${line.sender}: ${line.content.replace(/\r?\n/g, "\\n")}`)
    .join("\n")

export const boundaryUserPrompt = (lines: ReadonlyArray<BoundaryPromptLine>): string =>
  `Messages (${lines.length}):\n${formatBoundaryLines(lines)}\n\nAnswer with the JSON object only.`

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

const participantsBlock = (participants: ReadonlyArray<ExtractionParticipant>): string =>
  participants.map((p) => `- ${p.label} (sender_id "${p.sender_id}", ${p.role})`).join("\n")

const transcriptBlock = (lines: ReadonlyArray<BoundaryPromptLine>, timeZone: string): string =>
  `Messages (${lines.length}; timestamps in ${timeZone}):\n${formatBoundaryLines(lines)}`

// ---------------------------------------------------------------------------------------------
// Extraction: episodes
// ---------------------------------------------------------------------------------------------

export const EPISODE_PROMPT_VERSION = "episode/1"

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

You receive one segment of a chat transcript, numbered one message per line:
[N] [ISO-8601 timestamp] sender_name: content
Tool calls and tool results appear as short notes in parentheses.

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
  lines: ReadonlyArray<BoundaryPromptLine>,
  timeZone: string
): string =>
  `Write the episode for ${perspective.label} (sender_id "${perspective.sender_id}").\n\nParticipants:\n${
    participantsBlock(participants)
  }\n\n${transcriptBlock(lines, timeZone)}\n\nAnswer with the JSON object only.`

// ---------------------------------------------------------------------------------------------
// Extraction: facts
// ---------------------------------------------------------------------------------------------

export const FACT_PROMPT_VERSION = "fact/1"

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

You receive one segment of a chat transcript, numbered one message per line:
[N] [ISO-8601 timestamp] sender_name: content
Tool calls and tool results appear as short notes in parentheses.

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
  lines: ReadonlyArray<BoundaryPromptLine>,
  timeZone: string
): string =>
  `Participants:\n${participantsBlock(participants)}\n\n${transcriptBlock(lines, timeZone)}\n\nAnswer with the JSON object only.`

// ---------------------------------------------------------------------------------------------
// Extraction: foresight
// ---------------------------------------------------------------------------------------------

export const FORESIGHT_PROMPT_VERSION = "foresight/1"

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

You receive one segment of a chat transcript, numbered one message per line:
[N] [ISO-8601 timestamp] sender_name: content
Tool calls and tool results appear as short notes in parentheses.

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
  lines: ReadonlyArray<BoundaryPromptLine>,
  timeZone: string
): string =>
  `Extract foresight for ${perspective.label} (sender_id "${perspective.sender_id}"), whose time zone is ${timeZone}.\n\nParticipants:\n${
    participantsBlock(participants)
  }\n\n${transcriptBlock(lines, timeZone)}\n\nAnswer with the JSON object only.`
