import { Effect, Either, Layer } from "effect"
import { MemorizeSettingsConfig } from "../Config/EngramConfig.js"
import { LlmMalformedAnswer } from "../Domain/Errors.js"
import { decodeJsonAnswer } from "../Llm/JsonAnswer.js"
import { LlmClient } from "../Llm/LlmClient.js"
import {
  BOUNDARY_PROMPT_VERSION,
  BOUNDARY_SYSTEM_PROMPT,
  BoundaryAnswer,
  type BoundaryPromptLine,
  boundaryUserPrompt
} from "../Llm/Prompts.js"
import { makeZonedCalendar, type ZonedCalendar } from "../Text/Calendar.js"
import { BoundaryDetector, type DetectorMessage, normalizeBoundaries } from "./BoundaryDetector.js"

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

export const toPromptLines = (
  messages: ReadonlyArray<DetectorMessage>,
  calendar: ZonedCalendar
): ReadonlyArray<BoundaryPromptLine> =>
  messages.map((message) => ({
    timestamp: calendar.isoWithOffset(message.timestamp),
    sender: message.sender_name !== null && message.sender_name.trim().length > 0 ? message.sender_name : message.sender_id,
    content: message.text
  }))

const decodeBoundaryAnswer = decodeJsonAnswer(BoundaryAnswer)

/** A `BoundaryDetector` that asks the configured model where the topics change. */
export const makeLlmBoundaryDetector = (options: LlmBoundaryDetectorOptions = {}) =>
  Effect.gen(function*() {
    const llm = yield* LlmClient
    const calendar = makeZonedCalendar(options.timeZone ?? "UTC")

    const detect = Effect.fn("LlmBoundaryDetector.detect")(function*(messages: ReadonlyArray<DetectorMessage>) {
      const n = messages.length
      yield* Effect.annotateCurrentSpan({ "engram.messages": n, "engram.prompt_version": BOUNDARY_PROMPT_VERSION })
      // One message (or none) has nowhere to cut: no model call.
      if (n < 2) return [] as ReadonlyArray<number>

      const request = {
        purpose: "boundary",
        temperature: 0,
        json: true,
        messages: [
          { role: "system", content: BOUNDARY_SYSTEM_PROMPT },
          { role: "user", content: boundaryUserPrompt(toPromptLines(messages, calendar)) }
        ]
      } as const

      let lastReason = ""
      for (let attempt = 1; attempt <= BOUNDARY_MAX_ATTEMPTS; attempt++) {
        // LlmUnavailable passes through: the client already retried what can be retried.
        const response = yield* llm.chat(request)
        const answer = decodeBoundaryAnswer(response.content)
        if (Either.isRight(answer)) {
          yield* Effect.annotateCurrentSpan({ "engram.attempts": attempt })
          return normalizeBoundaries(answer.right.boundaries, n)
        }
        lastReason = answer.left
        yield* Effect.logWarning("boundary answer malformed").pipe(
          Effect.annotateLogs({ attempt, reason: lastReason, prompt_version: BOUNDARY_PROMPT_VERSION })
        )
      }
      return yield* new LlmMalformedAnswer({ purpose: "boundary", attempts: BOUNDARY_MAX_ATTEMPTS, reason: lastReason })
    })

    return BoundaryDetector.of({ name: "llm", detect })
  })

export const LlmBoundaryDetector = {
  layer: Layer.effect(BoundaryDetector, makeLlmBoundaryDetector()),
  layerWith: (options: LlmBoundaryDetectorOptions) => Layer.effect(BoundaryDetector, makeLlmBoundaryDetector(options)),
  /** Shows timestamps in ENGRAM_TIME_ZONE, the zone whose dates also force cuts in code. */
  layerConfig: Layer.unwrapEffect(
    Effect.map(MemorizeSettingsConfig, (settings) =>
      Layer.effect(BoundaryDetector, makeLlmBoundaryDetector({ timeZone: settings.timeZone })))
  )
} as const
