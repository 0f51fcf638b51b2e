import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { LlmUnavailable } from "../../src/Domain/Errors.js"
import type { StoredMessage } from "../../src/Domain/Message.js"
import {
  EpisodeExtractor,
  FactExtractor,
  ForesightExtractor,
  type MemcellInput
} from "../../src/Extraction/Extractors.js"
import { LlmExtractors, messageIdsOf, resolveForesightTimes } from "../../src/Extraction/LlmExtractors.js"
import { FakeLlm, type FakeLlmHandler, fakeLlmLayer } from "../support/FakeLlm.js"
import { EPISODE_SYSTEM_PROMPT, FACT_SYSTEM_PROMPT, FORESIGHT_SYSTEM_PROMPT } from "../../src/Llm/Prompts.js"
import { makeZonedCalendar } from "../../src/Text/Calendar.js"
import { cellById } from "../fixtures/multiTopicConversation.js"

const extractorsWith = (handler: FakeLlmHandler, timeZone = "UTC") =>
  LlmExtractors.layerWith({ timeZone }).pipe(Layer.provideMerge(fakeLlmLayer(handler)))

const episodes = (input: MemcellInput) => Effect.flatMap(EpisodeExtractor, (e) => e.extract(input))
const facts = (input: MemcellInput) => Effect.flatMap(FactExtractor, (e) => e.extract(input))
const foresight = (input: MemcellInput) => Effect.flatMap(ForesightExtractor, (e) => e.extract(input))
const calls = Effect.flatMap(FakeLlm, (fake) => fake.calls)

const lisbon = cellById("cell-lisbon")

const episodeAnswer = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({
    title: "Alice plans a Lisbon weekend",
    content: "On 2024-05-06 Alice told the assistant she flies to Lisbon on 2024-05-10.",
    summary: "Alice flies to Lisbon on 2024-05-10 and stays in Alfama.",
    ...fields
  })

/** The Lisbon cell plus a second user, so per-user calls can be counted. */
const twoUserCell = (): MemcellInput => {
  const bob: StoredMessage = {
    ...lisbon.messages[0]!,
    message_id: "b01",
    sender_id: "bob",
    sender_name: "Bob",
    content: "I'm joining Alice in Lisbon on Saturday."
  }
  const messages = [...lisbon.messages, bob]
  return { memcell: { ...lisbon.memcell, message_ids: messages.map((m) => m.message_id) }, messages }
}

describe("LlmEpisodeExtractor", () => {
  it.effect("sends a numbered transcript with the user's perspective and parses a fenced answer", () =>
    Effect.gen(function*() {
      const [episode, ...rest] = yield* episodes(lisbon)
      expect(rest).toEqual([])
      expect(episode).toEqual({
        sender_id: "alice",
        title: "Alice plans a Lisbon weekend",
        content: "On 2024-05-06 Alice told the assistant she flies to Lisbon on 2024-05-10.",
        summary: "Alice flies to Lisbon on 2024-05-10 and stays in Alfama."
      })
      const [call] = yield* calls
      expect(call?.purpose).toBe("episode")
      expect(call?.json).toBe(true)
      expect(call?.messages[0]).toEqual({ role: "system", content: EPISODE_SYSTEM_PROMPT })
      const user = call?.messages[1]?.content ?? ""
      expect(user).toContain(`Write the episode for Alice (sender_id "alice")`)
      // Compact lines: the zone once, the date on the first line (and when it changes), then times.
      expect(user).toContain("Times in UTC.\n[1] 2024-05-06 20:00 Alice: Hi! Next Friday I'm flying to Lisbon for a long weekend.")
      expect(user).toContain(`\n[4] 20:03 assistant: (called tool get_weather with {"city":"Lisbon","date":"2024-05-10"})`)
      expect(user).toContain(`\n[5] 20:03 weather: (tool get_weather returned: {"city":"Lisbon"`)
    }).pipe(Effect.provide(extractorsWith(() => "Here you go:\n```json\n" + episodeAnswer() + "\n```"))))

  it.effect("asks again when the summary is missing", () =>
    Effect.gen(function*() {
      const [episode] = yield* episodes(lisbon)
      expect(episode?.summary).toBe("Alice flies to Lisbon on 2024-05-10 and stays in Alfama.")
      expect(yield* calls).toHaveLength(2)
    }).pipe(Effect.provide(extractorsWith((_, i) => i === 0 ? episodeAnswer({ summary: undefined }) : episodeAnswer()))))

  it.effect("fails with LlmMalformedAnswer after exactly three malformed answers", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(episodes(lisbon))
      expect(error._tag).toBe("LlmMalformedAnswer")
      if (error._tag === "LlmMalformedAnswer") {
        expect(error.purpose).toBe("episode")
        expect(error.attempts).toBe(3)
        expect(error.reason).toContain("title")
      }
      expect(yield* calls).toHaveLength(3)
    }).pipe(Effect.provide(extractorsWith((_, i) => i === 0 ? "not json" : episodeAnswer({ title: "  " })))))

  it.effect("passes LlmUnavailable through without asking again", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(episodes(lisbon))
      expect(error._tag).toBe("LlmUnavailable")
      expect(yield* calls).toHaveLength(1)
    }).pipe(Effect.provide(extractorsWith(() => new LlmUnavailable({ reason: "down", retryable: true })))))

  it.effect("caps a long summary at a sentence boundary instead of failing", () => {
    const sentence = "Alice flies to Lisbon on 2024-05-10 to spend a long weekend in Alfama with her friend Marta."
    const long = Array.from({ length: 6 }, () => sentence).join(" ")
    return Effect.gen(function*() {
      const [episode] = yield* episodes(lisbon)
      expect(episode!.summary.length).toBeLessThanOrEqual(400)
      expect(episode!.summary.endsWith("Marta.")).toBe(true)
      expect(long.startsWith(episode!.summary)).toBe(true)
      expect(yield* calls).toHaveLength(1)
    }).pipe(Effect.provide(extractorsWith(() => episodeAnswer({ summary: long }))))
  })

  it.effect("writes one episode per user sender and calls nothing for a cell without users", () =>
    Effect.gen(function*() {
      const drafts = yield* episodes(twoUserCell())
      expect(drafts.map((d) => d.sender_id)).toEqual(["alice", "bob"])
      const asked = yield* calls
      expect(asked.map((c) => c.messages[1]?.content.split("\n")[0])).toEqual([
        `Write the episode for Alice (sender_id "alice").`,
        `Write the episode for Bob (sender_id "bob").`
      ])
      const assistantOnly = { ...lisbon, messages: lisbon.messages.filter((m) => m.role !== "user") }
      expect(yield* episodes(assistantOnly)).toEqual([])
      expect(yield* facts(assistantOnly)).toEqual([])
      expect(yield* foresight(assistantOnly)).toEqual([])
      expect(yield* calls).toHaveLength(2)
    }).pipe(Effect.provide(extractorsWith(() => episodeAnswer()))))
})

describe("LlmFactExtractor", () => {
  it.effect("maps message numbers to ids and drops facts without a valid source", () =>
    Effect.gen(function*() {
      const drafts = yield* facts(lisbon)
      expect(drafts).toEqual([
        { sender_id: "alice", content: "Alice is staying in Alfama with her friend Marta.", message_ids: ["m03", "m01"] },
        { sender_id: "alice", content: "Alice loves fado.", message_ids: ["m09"] },
        // Only the assistant said it, but the cell has a single user.
        { sender_id: "alice", content: "Alice's Lisbon forecast is sunny.", message_ids: ["m06"] }
      ])
      const asked = yield* calls
      expect(asked).toHaveLength(1)
      expect(asked[0]?.purpose).toBe("fact")
      expect(asked[0]?.messages[0]?.content).toBe(FACT_SYSTEM_PROMPT)
    }).pipe(Effect.provide(extractorsWith(() =>
      JSON.stringify({
        facts: [
          { content: "Alice is staying in Alfama with her friend Marta.", message_numbers: [3, 99, 0, 1, 3] },
          { content: "Alice loves fado.", message_numbers: [9] },
          { content: "Nobody said this.", message_numbers: [42, -1] },
          { content: "   ", message_numbers: [1] },
          { content: "Alice's Lisbon forecast is sunny.", message_numbers: [6] }
        ]
      })
    ))))

  it.effect("makes one call per memcell even with several users", () =>
    Effect.gen(function*() {
      const drafts = yield* facts(twoUserCell())
      expect(drafts).toEqual([{ sender_id: "bob", content: "Bob joins Alice in Lisbon.", message_ids: ["b01"] }])
      expect(yield* calls).toHaveLength(1)
    }).pipe(Effect.provide(extractorsWith(() =>
      JSON.stringify({ facts: [{ content: "Bob joins Alice in Lisbon.", message_numbers: [12] }] })
    ))))

  it.effect("retries when message numbers are not integers", () =>
    Effect.gen(function*() {
      expect(yield* facts(lisbon)).toEqual([{ sender_id: "alice", content: "Alice loves fado.", message_ids: ["m09"] }])
      expect(yield* calls).toHaveLength(2)
    }).pipe(Effect.provide(extractorsWith((_, i) =>
      JSON.stringify({ facts: [{ content: "Alice loves fado.", message_numbers: i === 0 ? ["9"] : [9] }] })
    ))))
})

describe("LlmForesightExtractor", () => {
  const item = (fields: Record<string, unknown>) => ({
    content: "Alice flies to Lisbon on 2024-05-10.",
    start_time: "2024-05-10",
    evidence: "Next Friday I'm flying to Lisbon",
    message_numbers: [1],
    ...fields
  })

  it.effect("resolves dates in the configured zone, durations and ends; one call per user", () =>
    Effect.gen(function*() {
      const drafts = yield* foresight(twoUserCell())
      const asked = yield* calls
      expect(asked.map((c) => c.purpose)).toEqual(["foresight", "foresight"])
      expect(asked[0]?.messages[0]?.content).toBe(FORESIGHT_SYSTEM_PROMPT)
      expect(asked[1]?.messages[1]?.content).toContain(`Extract foresight for Bob (sender_id "bob"), whose time zone is Europe/Berlin.`)
      expect(asked[0]?.messages[1]?.content).toContain("Times in Europe/Berlin.\n[1] 2024-05-06 22:00 Alice: Hi!")

      const alice = drafts.filter((d) => d.sender_id === "alice")
      expect(alice).toEqual([
        {
          sender_id: "alice",
          content: "Alice flies to Lisbon on 2024-05-10.",
          start_time: Date.parse("2024-05-09T22:00:00Z"), // midnight in Berlin
          end_time: Date.parse("2024-05-12T22:00:00Z"), // three days later
          evidence: "Next Friday I'm flying to Lisbon",
          message_ids: ["m01"]
        },
        {
          sender_id: "alice",
          content: "Alice books the fado table.",
          start_time: Date.parse("2024-05-07T07:30:00Z"), // 09:30 Berlin wall-clock time
          end_time: Date.parse("2024-05-13T21:59:59.999Z"), // end of 2024-05-13 in Berlin
          evidence: "Alice books the fado table.",
          message_ids: ["m11"]
        }
      ])
      expect(drafts.filter((d) => d.sender_id === "bob").map((d) => d.message_ids)).toEqual([["b01"]])
    }).pipe(Effect.provide(extractorsWith((request) =>
      request.messages[1]?.content.includes(`sender_id "bob"), whose`)
        ? JSON.stringify({ items: [item({ content: "Bob joins Alice.", start_time: "2024-05-11", message_numbers: [12] })] })
        : JSON.stringify({
          items: [
            item({ duration_days: 3, end_time: null }),
            item({
              content: "Alice books the fado table.",
              start_time: "2024-05-07T09:30",
              end_time: "2024-05-13",
              evidence: "",
              message_numbers: [11]
            }),
            item({ content: "Unsourced.", message_numbers: [77] })
          ]
        }), "Europe/Berlin"))))

  it.effect("treats an impossible date as malformed and asks again", () =>
    Effect.gen(function*() {
      const drafts = yield* foresight(lisbon)
      expect(drafts.map((d) => d.start_time)).toEqual([Date.parse("2024-05-10T00:00:00Z")])
      expect(yield* calls).toHaveLength(2)
    }).pipe(Effect.provide(extractorsWith((_, i) =>
      JSON.stringify({ items: [item({ start_time: i === 0 ? "2024-02-31" : "2024-05-10" })] })
    ))))

  it.effect("fails after three answers without a start time", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(foresight(lisbon))
      expect(error._tag).toBe("LlmMalformedAnswer")
      if (error._tag === "LlmMalformedAnswer") expect(error.purpose).toBe("foresight")
      expect(yield* calls).toHaveLength(3)
    }).pipe(Effect.provide(extractorsWith(() => JSON.stringify({ items: [item({ start_time: "next Friday" })] })))))
})

describe("helpers", () => {
  it("maps 1-based numbers to ids, dropping out-of-range ones and repeats", () => {
    expect(messageIdsOf([2, 0, 1, 2, 50, 1.5], lisbon.messages)).toEqual(["m02", "m01"])
  })

  it("resolves foresight times with offsets, dates and durations", () => {
    const utc = makeZonedCalendar("UTC")
    expect(resolveForesightTimes(utc, { start_time: "2024-05-10T09:00:00+02:00" })).toEqual({
      start_time: Date.parse("2024-05-10T07:00:00Z"),
      end_time: null
    })
    // An end before the start is not trusted.
    expect(resolveForesightTimes(utc, { start_time: "2024-05-10", end_time: "2024-05-01" })?.end_time).toBeNull()
    expect(resolveForesightTimes(utc, { start_time: "2024-05-10", duration_days: 0.5 })?.end_time)
      .toBe(Date.parse("2024-05-10T12:00:00Z"))
  })
})
