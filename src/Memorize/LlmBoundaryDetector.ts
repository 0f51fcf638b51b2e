import { Effect, Either, Layer } from "effect"
import { MemorizeSettingsConfig } from "../Config/EngramConfig.js"
import { LlmMalformedAnswer } from "../Domain/Errors.js"
import { decodeJsonAnswer } from "../Llm/JsonAnswer.js"
import { LlmClient } from "../Llm/LlmClient.js"
import {
  BOUNDARY_PROMPT_VERSION,
  BOUNDARY_SYSTEM_PROMPT,
  BoundaryAnswer,
  boundaryUserPrompt,
  type TranscriptLine
} from "../Llm/Prompts.js"
import { Lexicon } from "../Text/Lexicon.js"
import { makeZonedCalendar } from "../Text/Calendar.js"
import { BoundaryDetector, type DetectorMessage, normalizeBoundaries } from "./BoundaryDetector.js"
import { makeSelectiveDecide } from "./SelectiveBoundaryDetector.js"

/** Malformed answers are often one-off sampling accidents; a few fresh calls usually fix them. */
export const BOUNDARY_MAX_ATTEMPTS = 3

export interface LlmBoundaryDetectorOptions {
  /**
   * IANA zone the timestamps are shown in, so "different calendar dates" means the user's dates.
   * Default UTC.
   */
  readonly timeZone?: string
}

/** ISO-8601 with the zone's offset; see `makeZonedCalendar`. */
export const formatTimestamp = (epochMs: number, timeZone: string): string =>
  makeZonedCalendar(timeZone).isoWithOffset(epochMs)

export const toPromptLines = (messages: ReadonlyArray<DetectorMessage>): ReadonlyArray<TranscriptLine> =>
  messages.map((message) => ({
    at: message.timestamp,
    sender: message.sender_name !== null && message.sender_name.trim().length > 0 ? message.sender_name : message.sender_id,
    content: message.text
  }))

const decodeBoundaryAnswer = decodeJsonAnswer(BoundaryAnswer)

/** The model's verdict on a window: in-range cuts, and `should_wait` when it answered a boolean. */
export interface BoundaryJudgement {
  readonly boundaries: ReadonlyArray<number>
  readonly shouldWait: boolean | undefined
}

/** Asks the configured model where the topics of `messages` change (one call, retried while malformed). */
export const makeLlmBoundaryJudge = (options: LlmBoundaryDetectorOptions = {}) =>
  Effect.gen(function*() {
    const llm = yield* LlmClient
    const timeZone = options.timeZone ?? "UTC"
    const calendar = makeZonedCalendar(timeZone)

    return Effect.fn("LlmBoundaryDetector.judge")(function*(messages: ReadonlyArray<DetectorMessage>) {
      const n = messages.length
      yield* Effect.annotateCurrentSpan({ "engram.messages": n, "engram.prompt_version": BOUNDARY_PROMPT_VERSION })
      // One message (or none) has nowhere to cut: no model call.
      if (n < 2) return { boundaries: [], shouldWait: undefined } satisfies BoundaryJudgement as BoundaryJudgement

      const request = {
        purpose: "boundary",
        temperature: 0,
        json: true,
        messages: [
          { role: "system", content: BOUNDARY_SYSTEM_PROMPT },
          { role: "user", content: boundaryUserPrompt(toPromptLines(messages), calendar, timeZone) }
        ]
      } as const

      let lastReason = ""
      for (let attempt = 1; attempt <= BOUNDARY_MAX_ATTEMPTS; attempt++) {
        // LlmUnavailable passes through: the client already retried what can be retried.
        const response = yield* llm.chat(request)
        const answer = decodeBoundaryAnswer(response.content)
        if (Either.isRight(answer)) {
          yield* Effect.annotateCurrentSpan({ "engram.attempts": attempt })
          const shouldWait = answer.right.should_wait
          return {
            boundaries: normalizeBoundaries(answer.right.boundaries, n),
            shouldWait: typeof shouldWait === "boolean" ? shouldWait : undefined
          } satisfies BoundaryJudgement as BoundaryJudgement
        }
        lastReason = answer.left
        yield* Effect.logWarning("boundary answer malformed").pipe(
          Effect.annotateLogs({ attempt, reason: lastReason, prompt_version: BOUNDARY_PROMPT_VERSION })
        )
      }
      return yield* new LlmMalformedAnswer({ purpose: "boundary", attempts: BOUNDARY_MAX_ATTEMPTS, reason: lastReason })
    })
  })

/** A `BoundaryDetector` that asks the configured model about the whole buffer on every add (EverOS's way). */
export const makeLlmBoundaryDetector = (options: LlmBoundaryDetectorOptions = {}) =>
  Effect.map(makeLlmBoundaryJudge(options), (judge) =>
    BoundaryDetector.of({
      name: "llm",
      asksModel: true,
      detect: (messages) => Effect.map(judge(messages), (judgement) => judgement.boundaries)
    }))

/**
 * The model, asked only when it matters (see `SelectiveBoundaryDetector.ts`); `detect` still asks
 * about whatever it is given.
 */
export const makeSelectiveLlmBoundaryDetector = (options: LlmBoundaryDetectorOptions & { readonly askAfterTokens: number }) =>
  Effect.gen(function*() {
    const judge = yield* makeLlmBoundaryJudge(options)
    const lexicon = yield* Lexicon
    return BoundaryDetector.of({
      name: "llm-selective",
      asksModel: true,
      detect: (messages) => Effect.map(judge(messages), (judgement) => judgement.boundaries),
      decide: makeSelectiveDecide({ judge, terms: lexicon.terms, askAfterTokens: options.askAfterTokens })
    })
  })

export const LlmBoundaryDetector = {
  /** Asks on every add; dates in UTC. */
  layer: Layer.effect(BoundaryDetector, makeLlmBoundaryDetector()),
  layerWith: (options: LlmBoundaryDetectorOptions) => Layer.effect(BoundaryDetector, makeLlmBoundaryDetector(options)),
  /**
   * ENGRAM_BOUNDARY_STRATEGY picks when the model is asked (`selective` by default, `every_add`);
   * timestamps are shown in ENGRAM_TIME_ZONE, the zone whose dates also force cuts in code.
   */
  layerConfig: Layer.unwrapEffect(
    Effect.map(MemorizeSettingsConfig, (settings) =>
      settings.boundaryStrategy === "every_add"
        ? Layer.effect(BoundaryDetector, makeLlmBoundaryDetector({ timeZone: settings.timeZone }))
        : Layer.effect(
          BoundaryDetector,
          makeSelectiveLlmBoundaryDetector({ timeZone: settings.timeZone, askAfterTokens: settings.boundaryAskTokens })
        ))
  )
} as const
