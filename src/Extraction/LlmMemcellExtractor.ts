/**
 * Episodes, facts and foresight of a memcell in one model call ("llm-combined"): every user's
 * episode and foresight and all facts in one Schema-validated answer (`MemcellExtractionAnswer`),
 * instead of an episode and a foresight call per user plus a facts call. The transcript is sent
 * once, not 2·users + 1 times.
 *
 * An answer that does not decode, or lacks the episode of a user of the cell, is asked again (up to
 * `EXTRACTION_MAX_ATTEMPTS` calls); a model that still cannot answer the combined contract is then
 * asked the per-kind way (the three LLM extractors), so weaker models still give complete memory.
 * `LlmUnavailable` passes through (the job is retried with backoff). The answer is normalised as
 * the per-kind extractors normalise theirs (`factDrafts`, `foresightDrafts`, `capSummary`).
 */
import { Effect, Either, Layer } from "effect"
import { decodeJsonAnswer } from "../Llm/JsonAnswer.js"
import {
  MEMCELL_EXTRACTION_PROMPT_VERSION,
  MEMCELL_EXTRACTION_SYSTEM_PROMPT,
  MemcellExtractionAnswer,
  memcellExtractionUserPrompt
} from "../Llm/Prompts.js"
import {
  capSummary,
  type ExtractorOptions,
  type MemcellDrafts,
  MemcellExtractor,
  type MemcellInput,
  SUMMARY_MAX_CHARS,
  userSenders
} from "./Extractors.js"
import {
  askUntilDecoded,
  chatRequest,
  extractionLines,
  factDrafts,
  foresightDrafts,
  makeLlmEpisodeExtractor,
  makeLlmFactExtractor,
  makeLlmForesightExtractor,
  participantFor,
  participantsOf,
  setup
} from "./LlmExtractors.js"
import { annotateExtraction, extractorLayers } from "./ExtractorLayers.js"

const decodeAnswer = decodeJsonAnswer(MemcellExtractionAnswer)

/** Decodes, then insists on an episode for every user: a missing one is a malformed answer. */
const decodeFor = (senders: ReadonlyArray<string>) => (text: string): Either.Either<MemcellExtractionAnswer, string> =>
  Either.flatMap(decodeAnswer(text), (answer) => {
    const missing = senders.filter((sender) => !answer.episodes.some((e) => e.user === sender))
    return missing.length === 0 ? Either.right(answer) : Either.left(`no episode for user ${missing.join(", ")}`)
  })

export const makeLlmMemcellExtractor = (options: ExtractorOptions = {}) =>
  Effect.gen(function*() {
    const { calendar, llm, timeZone } = yield* setup(options)
    const perKind = {
      episode: yield* makeLlmEpisodeExtractor(options),
      fact: yield* makeLlmFactExtractor(options),
      foresight: yield* makeLlmForesightExtractor(options)
    }

    const separately = (input: MemcellInput) =>
      Effect.all({ episodes: perKind.episode.extract(input), facts: perKind.fact.extract(input), foresight: perKind.foresight.extract(input) })

    const combined = (input: MemcellInput, senders: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const participants = participantsOf(input)
        const users = senders.map((sender) => participantFor(participants, sender))
        const others = participants.filter((p) => !senders.includes(p.sender_id))
        const user = memcellExtractionUserPrompt(users, others, extractionLines(input), calendar, timeZone)
        const answer = yield* askUntilDecoded(
          llm,
          chatRequest("extraction", MEMCELL_EXTRACTION_SYSTEM_PROMPT, user),
          MEMCELL_EXTRACTION_PROMPT_VERSION,
          decodeFor(senders)
        )
        return {
          episodes: senders.map((sender) => {
            const episode = answer.episodes.find((e) => e.user === sender)!
            return {
              sender_id: sender,
              title: episode.title,
              content: episode.content,
              // An over-long summary is the model ignoring a soft limit, not a malformed answer.
              summary: capSummary(episode.summary, SUMMARY_MAX_CHARS)
            }
          }),
          facts: factDrafts(answer.facts.map((f) => ({ content: f.content, message_numbers: f.lines })), input, senders),
          foresight: senders.flatMap((sender) =>
            foresightDrafts(
              answer.foresight.filter((item) => item.user === sender).map((item) => ({
                content: item.content,
                start_time: item.start,
                end_time: item.end,
                duration_days: item.duration_days,
                evidence: item.evidence,
                message_numbers: item.lines
              })),
              sender,
              input,
              calendar
            )
          )
        } satisfies MemcellDrafts
      })

    const extract = Effect.fn("LlmMemcellExtractor.extract")(function*(input: MemcellInput) {
      const senders = userSenders(input)
      yield* annotateExtraction(input, { "engram.prompt_version": MEMCELL_EXTRACTION_PROMPT_VERSION })
      if (senders.length === 0) return { episodes: [], facts: [], foresight: [] } satisfies MemcellDrafts as MemcellDrafts
      return yield* combined(input, senders).pipe(
        Effect.catchTag("LlmMalformedAnswer", (error) =>
          Effect.logWarning("combined extraction failed; asking per kind").pipe(
            Effect.annotateLogs({ reason: error.reason, memcell_id: input.memcell.memcell_id }),
            Effect.zipRight(separately(input))
          ))
      )
    })

    return MemcellExtractor.of({ name: "llm", extract })
  })

/** Needs `LlmClient`. `layerConfig` shows and resolves dates in ENGRAM_TIME_ZONE, `layer` in UTC. */
export const LlmMemcellExtractor = extractorLayers((options: ExtractorOptions) =>
  Layer.effect(MemcellExtractor, makeLlmMemcellExtractor(options))
)
