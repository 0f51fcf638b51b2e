import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { LlmUnavailable } from "../../src/Domain/Errors.js"
import { FakeLlm, type FakeLlmHandler, fakeLlmLayer } from "../support/FakeLlm.js"
import { BOUNDARY_SYSTEM_PROMPT } from "../../src/Llm/Prompts.js"
import { BoundaryDetector, type DetectorMessage } from "../../src/Memorize/BoundaryDetector.js"
import { formatTimestamp, LlmBoundaryDetector } from "../../src/Memorize/LlmBoundaryDetector.js"

const T0 = Date.parse("2024-05-01T09:00:00Z")

const message = (i: number, text: string, overrides: Partial<DetectorMessage> = {}): DetectorMessage => ({
  sender_id: `user_${i % 2}`,
  sender_name: i % 2 === 0 ? "Alice" : null,
  role: "user",
  timestamp: T0 + i * 60_000,
  text,
  ...overrides
})

const conversation = [
  message(0, "hi"),
  message(1, "can you help me plan the trip?"),
  message(2, "sure, where to?\nsomewhere warm"),
  message(3, "unrelated: what's a monad?")
]

const detectorWith = (handler: FakeLlmHandler) =>
  LlmBoundaryDetector.layer.pipe(Layer.provideMerge(fakeLlmLayer(handler)))

const detect = (messages: ReadonlyArray<DetectorMessage>) =>
  Effect.flatMap(BoundaryDetector, (detector) => detector.detect(messages))

const answer = (boundaries: unknown) => JSON.stringify({ reasoning: "r", boundaries, should_wait: false })

describe("LlmBoundaryDetector", () => {
  it.effect("sends numbered, timestamped lines and keeps an in-range boundary", () =>
    Effect.gen(function*() {
      const boundaries = yield* detect(conversation)
      expect(boundaries).toEqual([2])

      const calls = yield* Effect.flatMap(FakeLlm, (fake) => fake.calls)
      expect(calls).toHaveLength(1)
      const [call] = calls
      expect(call?.purpose).toBe("boundary")
      expect(call?.json).toBe(true)
      expect(call?.messages[0]).toEqual({ role: "system", content: BOUNDARY_SYSTEM_PROMPT })
      const user = call?.messages[1]?.content ?? ""
      // Compact lines: the zone once, the date on the first line and when it changes, then times;
      // sender_name null falls back to sender_id; newlines stay on one line.
      expect(user).toBe([
        "Times in UTC.",
        "[1] 2024-05-01 09:00 Alice: hi",
        "[2] 09:01 user_1: can you help me plan the trip?",
        "[3] 09:02 Alice: sure, where to?\\nsomewhere warm",
        "[4] 09:03 user_1: unrelated: what's a monad?"
      ].join("\n"))
    }).pipe(Effect.provide(detectorWith(() => answer([2])))))

  it.effect("drops out-of-range boundaries and duplicates", () =>
    detect(conversation).pipe(
      Effect.map((boundaries) => expect(boundaries).toEqual([1, 3])),
      Effect.provide(detectorWith(() => answer([0, 3, 1, 3, 4, 9, -2])))
    ))

  it.effect("parses a fenced JSON answer", () =>
    detect(conversation).pipe(
      Effect.map((boundaries) => expect(boundaries).toEqual([3])),
      Effect.provide(detectorWith(() => `Here is my analysis.\n\`\`\`json\n${answer([3])}\n\`\`\``))
    ))

  it.effect("asks again after malformed answers and succeeds on the third call", () =>
    Effect.gen(function*() {
      expect(yield* detect(conversation)).toEqual([2])
      expect(yield* Effect.flatMap(FakeLlm, (fake) => fake.calls)).toHaveLength(3)
    }).pipe(
      Effect.provide(detectorWith((_, index) => index === 0 ? "no idea" : index === 1 ? answer(["2"]) : answer([2])))
    ))

  it.effect("fails with LlmMalformedAnswer after three malformed answers", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(detect(conversation))
      expect(error._tag).toBe("LlmMalformedAnswer")
      if (error._tag === "LlmMalformedAnswer") {
        expect(error.purpose).toBe("boundary")
        expect(error.attempts).toBe(3)
        expect(error.reason).toContain("boundaries")
      }
      expect(yield* Effect.flatMap(FakeLlm, (fake) => fake.calls)).toHaveLength(3)
    }).pipe(Effect.provide(detectorWith(() => JSON.stringify({ reasoning: "forgot the list" })))))

  it.effect("passes LlmUnavailable through without asking again", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(detect(conversation))
      expect(error._tag).toBe("LlmUnavailable")
      expect(yield* Effect.flatMap(FakeLlm, (fake) => fake.calls)).toHaveLength(1)
    }).pipe(Effect.provide(detectorWith(() => new LlmUnavailable({ reason: "down", retryable: true })))))

  it.effect("does not call the model for fewer than two messages", () =>
    Effect.gen(function*() {
      expect(yield* detect([message(0, "alone")])).toEqual([])
      expect(yield* detect([])).toEqual([])
      expect(yield* Effect.flatMap(FakeLlm, (fake) => fake.calls)).toHaveLength(0)
    }).pipe(Effect.provide(detectorWith(() => answer([1])))))

  it("names itself llm", () =>
    Effect.runSync(
      Effect.map(BoundaryDetector, (d) => expect(d.name).toBe("llm")).pipe(Effect.provide(detectorWith(() => "")))
    ))
})

describe("formatTimestamp", () => {
  it("shows UTC with Z and other zones with their offset", () => {
    expect(formatTimestamp(Date.parse("2024-05-01T23:30:05.750Z"), "UTC")).toBe("2024-05-01T23:30:05Z")
    expect(formatTimestamp(Date.parse("2024-05-01T23:30:05Z"), "Europe/Berlin")).toBe("2024-05-02T01:30:05+02:00")
    expect(formatTimestamp(Date.parse("2024-01-15T03:00:00Z"), "America/New_York")).toBe("2024-01-14T22:00:00-05:00")
    expect(formatTimestamp(Date.parse("2024-01-15T03:00:00Z"), "Asia/Kolkata")).toBe("2024-01-15T08:30:00+05:30")
  })
})
