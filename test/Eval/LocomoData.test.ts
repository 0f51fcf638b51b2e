import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { parseEvidence, parseLocomo, parseSessionDateTime, turnText } from "../../src/Eval/LocomoData.js"
import { locomoMini } from "../fixtures/locomoMini.js"

const parse = (data: unknown) => parseLocomo("mini.json", JSON.stringify(data))

describe("parseEvidence", () => {
  it("reads one id per string", () => {
    expect(parseEvidence(["D1:3", "D10:12"])).toEqual({ ids: ["D1:3", "D10:12"], malformed: [] })
  })

  it("splits several ids written in one string, by semicolons, commas or spaces", () => {
    expect(parseEvidence(["D8:6; D9:17"]).ids).toEqual(["D8:6", "D9:17"])
    expect(parseEvidence(["D9:1 D4:4 D4:6"]).ids).toEqual(["D9:1", "D4:4", "D4:6"])
    expect(parseEvidence(["D1:1,D1:2"]).ids).toEqual(["D1:1", "D1:2"])
  })

  it("repairs a stray colon and leading zeros, and drops repeats", () => {
    expect(parseEvidence(["D:11:26", "D30:05", "D11:26"]).ids).toEqual(["D11:26", "D30:5"])
  })

  it("reports tokens that are not turn ids", () => {
    expect(parseEvidence(["D", "D2:3", "session 4"])).toEqual({ ids: ["D2:3"], malformed: ["D", "session", "4"] })
    expect(parseEvidence([])).toEqual({ ids: [], malformed: [] })
  })
})

describe("parseSessionDateTime", () => {
  it("reads the data set's dates as UTC wall-clock time", () => {
    expect(parseSessionDateTime("1:56 pm on 8 May, 2023")).toBe(Date.UTC(2023, 4, 8, 13, 56))
    expect(parseSessionDateTime("12:09 am on 13 September, 2023")).toBe(Date.UTC(2023, 8, 13, 0, 9))
    expect(parseSessionDateTime("12:30 pm on 1 Jan, 2024")).toBe(Date.UTC(2024, 0, 1, 12, 30))
  })

  it("refuses other forms and dates that do not exist", () => {
    expect(parseSessionDateTime("2023-05-08 13:56")).toBeUndefined()
    expect(parseSessionDateTime("1:56 pm on 31 June, 2023")).toBeUndefined()
    expect(parseSessionDateTime("13:56 pm on 8 May, 2023")).toBeUndefined()
    expect(parseSessionDateTime("1:56 pm on 8 Maytember, 2023")).toBeUndefined()
  })
})

describe("parseLocomo", () => {
  it.effect("loads conversations with their sessions in order and cleaned evidence", () =>
    Effect.gen(function*() {
      const [a, b] = yield* parse(locomoMini)
      expect(a!.sampleId).toBe("conv-a")
      expect([a!.speakerA, a!.speakerB]).toEqual(["Alice", "Bob"])
      // session_3 has a date but no turns: not a session.
      expect(a!.sessions.map((s) => s.index)).toEqual([1, 2])
      expect(a!.sessions[0]!.startMs).toBe(Date.UTC(2023, 4, 8, 13, 56))
      expect(a!.sessions[1]!.turns.map((t) => t.dia_id)).toEqual(["D2:1", "D2:2", "D2:3", "D2:4"])
      const byQuestion = new Map(a!.questions.map((q) => [q.question, q]))
      expect(byQuestion.get("Which hobbies does Bob have?")!.evidence).toEqual(["D1:4", "D2:1"])
      expect(byQuestion.get("What breed is the puppy Biscuit?")!.evidence).toEqual(["D1:3"])
      const bare = byQuestion.get("What did Bob make in pottery?")!
      expect(bare.evidence).toEqual([])
      expect(bare.malformedEvidence).toEqual(["D"])
      const unknown = byQuestion.get("How did Bob feel after the marathon?")!
      expect(unknown.evidence).toEqual(["D2:3"])
      expect(unknown.unknownEvidence).toEqual(["D9:9"])
      expect(byQuestion.get("Did Alice run a marathon?")!.category).toBe(5)
      expect(byQuestion.get("Did Alice run a marathon?")!.answer).toBe("")
      expect(b!.questions.map((q) => q.evidence)).toEqual([["D1:1"], ["D1:2", "D1:4"]])
    }))

  it.effect("shows a shared photo's caption with the turn's text", () =>
    Effect.gen(function*() {
      const [a] = yield* parse(locomoMini)
      const photo = a!.sessions[0]!.turns[3]!
      expect(turnText(photo)).toBe("I started pottery classes at the community center. [shared a photo: a photo of a clay bowl on a wheel]")
      expect(turnText(a!.sessions[0]!.turns[0]!)).toBe("Hi Bob! I adopted a puppy named Biscuit last week.")
    }))

  it.effect("names the problem when the file is not LoCoMo", () =>
    Effect.gen(function*() {
      const notJson = yield* Effect.either(parseLocomo("mini.json", "{oops"))
      expect(Either.isLeft(notJson) && notJson.left.reason).toMatch(/^not valid JSON/)

      const badDate = structuredClone(locomoMini)
      ;(badDate[0]!.conversation as Record<string, unknown>).session_1_date_time = "yesterday"
      const date = yield* Effect.flip(parse(badDate))
      expect(date.message).toContain("conv-a.conversation.session_1_date_time")

      const badCategory = structuredClone(locomoMini)
      badCategory[1]!.qa[0]!.category = 9
      expect((yield* Effect.flip(parse(badCategory))).reason).toContain("conv-b.qa.0.category must be 1-5")

      const noSpeaker = structuredClone(locomoMini) as Array<{ conversation: Record<string, unknown> }>
      delete noSpeaker[1]!.conversation.speaker_b
      expect((yield* Effect.flip(parse(noSpeaker))).reason).toContain("speaker_b")

      const twice = structuredClone(locomoMini)
      twice[1]!.conversation.session_1[1]!.dia_id = "D1:1"
      expect((yield* Effect.flip(parse(twice))).reason).toContain("D1:1 appears twice")
    }))
})
