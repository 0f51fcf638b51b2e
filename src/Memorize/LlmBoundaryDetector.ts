import { Effect, Either, Layer } from "effect"
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

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/**
 * ISO-8601 with seconds and the zone's offset (`Z` for UTC), e.g. `2024-05-01T09:30:00+02:00`.
 * Local wall time rather than UTC so the model sees the same calendar date the user does.
 */
export const formatTimestamp = (epochMs: number, timeZone: string): string => {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit"
  }).formatToParts(new Date(epochMs))
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0)
  const [year, month, day, hour, minute, second] = [
    part("year"),
    part("month"),
    part("day"),
    part("hour"),
    part("minute"),
    part("second")
  ]
  const wholeSecondMs = Math.floor(epochMs / 1000) * 1000
  const offsetMinutes = Math.round((Date.UTC(year, month - 1, day, hour, minute, second) - wholeSecondMs) / 60_000)
  const offset = offsetMinutes === 0
    ? "Z"
    : `${offsetMinutes < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offsetMinutes) / 60))}:${pad(Math.abs(offsetMinutes) % 60)}`
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${offset}`
}

export const toPromptLines = (
  messages: ReadonlyArray<DetectorMessage>,
  timeZone: string
): ReadonlyArray<BoundaryPromptLine> =>
  messages.map((message) => ({
    timestamp: formatTimestamp(message.timestamp, timeZone),
    sender: message.sender_name !== null && message.sender_name.trim().length > 0 ? message.sender_name : message.sender_id,
    content: message.text
  }))

const decodeBoundaryAnswer = decodeJsonAnswer(BoundaryAnswer)

/** A `BoundaryDetector` that asks the configured model where the topics change. */
export const makeLlmBoundaryDetector = (options: LlmBoundaryDetectorOptions = {}) =>
  Effect.gen(function*() {
    const llm = yield* LlmClient
    const timeZone = options.timeZone ?? "UTC"

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
          { role: "user", content: boundaryUserPrompt(toPromptLines(messages, timeZone)) }
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
  layerWith: (options: LlmBoundaryDetectorOptions) => Layer.effect(BoundaryDetector, makeLlmBoundaryDetector(options))
} as const
