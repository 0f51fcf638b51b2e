/**
 * The LLM-backed extractors ("llm"). Calls per memcell: one episode call per user sender (the
 * prompt says whose perspective), one fact call, one foresight call per user sender; a cell with
 * no user message costs none. Each call is asked up to `EXTRACTION_MAX_ATTEMPTS` times while the
 * answer is malformed, then fails with `LlmMalformedAnswer`; `LlmUnavailable` passes through,
 * since the client has already retried what can be retried.
 *
 * Answers are decoded with the Schemas in `Prompts.ts`, then normalised without further calls:
 * summaries are capped at 400 characters, message numbers outside the cell are dropped, and a
 * fact or foresight item left without a source is dropped. A fact is attributed to the first
 * user who wrote one of its source messages, else to the cell's only user (a fact only the
 * assistant stated, in a cell with several users, is dropped as unattributable).
 */
import { Effect, Either, Layer } from "effect"
import { LlmMalformedAnswer } from "../Domain/Errors.js"
import type { StoredMessage } from "../Domain/Message.js"
import { decodeJsonAnswer } from "../Llm/JsonAnswer.js"
import { type ChatRequest, LlmClient } from "../Llm/LlmClient.js"
import {
  EPISODE_PROMPT_VERSION,
  EPISODE_SYSTEM_PROMPT,
  EpisodeAnswer,
  episodeUserPrompt,
  type ExtractionParticipant,
  FACT_PROMPT_VERSION,
  FACT_SYSTEM_PROMPT,
  FactAnswer,
  factUserPrompt,
  FORESIGHT_PROMPT_VERSION,
  FORESIGHT_SYSTEM_PROMPT,
  ForesightAnswer,
  foresightUserPrompt,
  type TranscriptLine
} from "../Llm/Prompts.js"
import { makeZonedCalendar, type ZonedCalendar } from "../Text/Calendar.js"
import {
  capSummary,
  DAY_MS,
  type EpisodeDraft,
  EpisodeExtractor,
  type ExtractorOptions,
  type FactDraft,
  FactExtractor,
  type ForesightDraft,
  ForesightExtractor,
  type MemcellInput,
  parseIsoInZone,
  promptText,
  senderLabel,
  SUMMARY_MAX_CHARS,
  userSenders,
  zonedDayEnd
} from "./Extractors.js"
import { annotateExtraction, extractorLayers } from "./ExtractorLayers.js"

/** Malformed answers are often one-off sampling accidents; a few fresh calls usually fix them. */
export const EXTRACTION_MAX_ATTEMPTS = 3

// ---------------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------------

/** One prompt line per message of the cell, numbered by the caller in cell order. */
export const extractionLines = (input: MemcellInput): ReadonlyArray<TranscriptLine> =>
  input.messages.map((message) => ({
    at: message.timestamp,
    sender: senderLabel(message),
    content: promptText(message, input.messages)
  }))

/** Every sender of the cell once, in first-seen order, with the role of their first message. */
export const participantsOf = (input: MemcellInput): ReadonlyArray<ExtractionParticipant> => {
  const seen = new Map<string, ExtractionParticipant>()
  for (const message of input.messages) {
    if (!seen.has(message.sender_id)) {
      seen.set(message.sender_id, { label: senderLabel(message), sender_id: message.sender_id, role: message.role })
    }
  }
  return Array.from(seen.values())
}

/** Message ids of 1-based `numbers`, out-of-range and repeated ones dropped, in answer order. */
export const messageIdsOf = (
  numbers: ReadonlyArray<number>,
  messages: ReadonlyArray<StoredMessage>
): ReadonlyArray<string> => {
  const ids: Array<string> = []
  for (const n of numbers) {
    const message = Number.isInteger(n) && n >= 1 && n <= messages.length ? messages[n - 1] : undefined
    if (message !== undefined && !ids.includes(message.message_id)) ids.push(message.message_id)
  }
  return ids
}

/**
 * Asks until the answer decodes, at most `EXTRACTION_MAX_ATTEMPTS` times. Each attempt is a fresh
 * call with the same request.
 */
export const askUntilDecoded = <A>(
  llm: LlmClient["Type"],
  request: ChatRequest,
  version: string,
  decode: (text: string) => Either.Either<A, string>
) =>
  Effect.gen(function*() {
    let lastReason = ""
    for (let attempt = 1; attempt <= EXTRACTION_MAX_ATTEMPTS; attempt++) {
      const response = yield* llm.chat(request)
      const answer = decode(response.content)
      if (Either.isRight(answer)) {
        yield* Effect.annotateCurrentSpan({ "engram.attempts": attempt })
        return answer.right
      }
      lastReason = answer.left
      yield* Effect.logWarning(`${request.purpose} answer malformed`).pipe(
        Effect.annotateLogs({ attempt, reason: lastReason, prompt_version: version })
      )
    }
    return yield* new LlmMalformedAnswer({
      purpose: request.purpose,
      attempts: EXTRACTION_MAX_ATTEMPTS,
      reason: lastReason
    })
  })

export const chatRequest = (purpose: string, system: string, user: string): ChatRequest => ({
  purpose,
  temperature: 0,
  json: true,
  messages: [
    { role: "system", content: system },
    { role: "user", content: user }
  ]
})

const decodeEpisode = decodeJsonAnswer(EpisodeAnswer)
const decodeFacts = decodeJsonAnswer(FactAnswer)
const decodeForesight = decodeJsonAnswer(ForesightAnswer)

export interface Setup {
  readonly llm: LlmClient["Type"]
  readonly calendar: ZonedCalendar
  readonly timeZone: string
}

export const setup = (options: ExtractorOptions) =>
  Effect.map(LlmClient, (llm): Setup => {
    const timeZone = options.timeZone ?? "UTC"
    return { llm, timeZone, calendar: makeZonedCalendar(timeZone) }
  })

export const participantFor = (participants: ReadonlyArray<ExtractionParticipant>, sender: string): ExtractionParticipant =>
  participants.find((p) => p.sender_id === sender) ?? { label: sender, sender_id: sender, role: "user" }

// ---------------------------------------------------------------------------------------------
// Episodes
// ---------------------------------------------------------------------------------------------

export const makeLlmEpisodeExtractor = (options: ExtractorOptions = {}) =>
  Effect.gen(function*() {
    const { calendar, llm, timeZone } = yield* setup(options)

    const extract = Effect.fn("LlmEpisodeExtractor.extract")(function*(input: MemcellInput) {
      const senders = userSenders(input)
      yield* annotateExtraction(input, { "engram.prompt_version": EPISODE_PROMPT_VERSION })
      if (senders.length === 0) return [] as ReadonlyArray<EpisodeDraft>
      const lines = extractionLines(input)
      const participants = participantsOf(input)
      const episodes: Array<EpisodeDraft> = []
      for (const sender of senders) {
        const user = episodeUserPrompt(participantFor(participants, sender), participants, lines, calendar, timeZone)
        const answer = yield* askUntilDecoded(
          llm,
          chatRequest("episode", EPISODE_SYSTEM_PROMPT, user),
          EPISODE_PROMPT_VERSION,
          decodeEpisode
        )
        episodes.push({
          sender_id: sender,
          title: answer.title,
          content: answer.content,
          // An over-long summary is the model ignoring a soft limit, not a malformed answer.
          summary: capSummary(answer.summary, SUMMARY_MAX_CHARS)
        })
      }
      return episodes
    })

    return EpisodeExtractor.of({ name: "llm", extract })
  })

// ---------------------------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------------------------

/** The user a fact is about: the first user source's sender, else the cell's only user. */
const factSender = (
  ids: ReadonlyArray<string>,
  input: MemcellInput,
  senders: ReadonlyArray<string>
): string | undefined => {
  for (const id of ids) {
    const message = input.messages.find((m) => m.message_id === id)
    if (message?.role === "user") return message.sender_id
  }
  return senders.length === 1 ? senders[0] : undefined
}

/** Answered facts with their sources resolved; blank, unsourced and unattributable ones dropped. */
export const factDrafts = (
  answered: ReadonlyArray<{ readonly content: string; readonly message_numbers: ReadonlyArray<number> }>,
  input: MemcellInput,
  senders: ReadonlyArray<string>
): ReadonlyArray<FactDraft> => {
  const facts: Array<FactDraft> = []
  for (const fact of answered) {
    const content = fact.content.trim()
    const message_ids = messageIdsOf(fact.message_numbers, input.messages)
    const sender_id = factSender(message_ids, input, senders)
    if (content.length === 0 || message_ids.length === 0 || sender_id === undefined) continue
    facts.push({ sender_id, content, message_ids })
  }
  return facts
}

export const makeLlmFactExtractor = (options: ExtractorOptions = {}) =>
  Effect.gen(function*() {
    const { calendar, llm, timeZone } = yield* setup(options)

    const extract = Effect.fn("LlmFactExtractor.extract")(function*(input: MemcellInput) {
      const senders = userSenders(input)
      yield* annotateExtraction(input, { "engram.prompt_version": FACT_PROMPT_VERSION })
      if (senders.length === 0) return [] as ReadonlyArray<FactDraft>
      const user = factUserPrompt(participantsOf(input), extractionLines(input), calendar, timeZone)
      const answer = yield* askUntilDecoded(
        llm,
        chatRequest("fact", FACT_SYSTEM_PROMPT, user),
        FACT_PROMPT_VERSION,
        decodeFacts
      )
      const facts = factDrafts(answer.facts, input, senders)
      yield* Effect.annotateCurrentSpan({ "engram.facts": facts.length, "engram.facts_dropped": answer.facts.length - facts.length })
      return facts
    })

    return FactExtractor.of({ name: "llm", extract })
  })

// ---------------------------------------------------------------------------------------------
// Foresight
// ---------------------------------------------------------------------------------------------

type ForesightItem = ForesightAnswer["items"][number]

/**
 * Epoch ms of an answered item: start as given (a date is the start of that day in the zone), end
 * from `end_time` (a date is the end of that day), else start plus `duration_days`, else null.
 * An end before the start is dropped rather than trusted. Undefined when the start cannot be read.
 */
export const resolveForesightTimes = (
  calendar: ZonedCalendar,
  item: Pick<ForesightItem, "start_time" | "end_time" | "duration_days">
): { readonly start_time: number; readonly end_time: number | null } | undefined => {
  const start = parseIsoInZone(calendar, item.start_time)
  if (start === undefined) return undefined
  let end: number | null = null
  if (typeof item.end_time === "string") {
    const parsed = parseIsoInZone(calendar, item.end_time)
    if (parsed !== undefined) end = parsed.dateOnly ? zonedDayEnd(calendar, parsed.epochMs) : parsed.epochMs
  } else if (typeof item.duration_days === "number" && item.duration_days > 0) {
    end = start.epochMs + Math.round(item.duration_days * DAY_MS)
  }
  return { start_time: start.epochMs, end_time: end !== null && end >= start.epochMs ? end : null }
}

/** A user's answered foresight with sources and times resolved; items without either dropped. */
export const foresightDrafts = (
  answered: ReadonlyArray<ForesightItem>,
  sender: string,
  input: MemcellInput,
  calendar: ZonedCalendar
): ReadonlyArray<ForesightDraft> =>
  answered.flatMap((item) => {
    const message_ids = messageIdsOf(item.message_numbers, input.messages)
    const times = resolveForesightTimes(calendar, item)
    if (message_ids.length === 0 || times === undefined) return []
    const evidence = item.evidence.trim()
    return [{ sender_id: sender, content: item.content, ...times, evidence: evidence.length > 0 ? evidence : item.content, message_ids }]
  })

export const makeLlmForesightExtractor = (options: ExtractorOptions = {}) =>
  Effect.gen(function*() {
    const { calendar, llm, timeZone } = yield* setup(options)

    const extract = Effect.fn("LlmForesightExtractor.extract")(function*(input: MemcellInput) {
      const senders = userSenders(input)
      yield* annotateExtraction(input, { "engram.prompt_version": FORESIGHT_PROMPT_VERSION })
      if (senders.length === 0) return [] as ReadonlyArray<ForesightDraft>
      const lines = extractionLines(input)
      const participants = participantsOf(input)
      const items: Array<ForesightDraft> = []
      for (const sender of senders) {
        const user = foresightUserPrompt(participantFor(participants, sender), participants, lines, calendar, timeZone)
        const answer = yield* askUntilDecoded(
          llm,
          chatRequest("foresight", FORESIGHT_SYSTEM_PROMPT, user),
          FORESIGHT_PROMPT_VERSION,
          decodeForesight
        )
        items.push(...foresightDrafts(answer.items, sender, input, calendar))
      }
      yield* Effect.annotateCurrentSpan({ "engram.foresight": items.length })
      return items
    })

    return ForesightExtractor.of({ name: "llm", extract })
  })

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/** All three; needs `LlmClient`. `layerConfig` shows and resolves dates in ENGRAM_TIME_ZONE, `layer` in UTC. */
export const LlmExtractors = extractorLayers((options: ExtractorOptions) =>
  Layer.mergeAll(
    Layer.effect(EpisodeExtractor, makeLlmEpisodeExtractor(options)),
    Layer.effect(FactExtractor, makeLlmFactExtractor(options)),
    Layer.effect(ForesightExtractor, makeLlmForesightExtractor(options))
  )
)
