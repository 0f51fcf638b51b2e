import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { vi } from "vitest"
import { Memory } from "../../src/Memorize/Memory.js"
import { forEachEngine } from "../support/Engines.js"
import { addRequest, keyOf } from "../support/Messages.js"
import { keywordSearchTestLayer, runQueuedJobs, searchAs } from "../support/SearchTestLayer.js"

// Each test builds a database, the tokenizer and the lexicon: seconds on a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 })

const T0 = Date.UTC(2024, 4, 6, 12, 0)

/** Alice and `other` taking turns one minute apart, from minute `from`. */
const turns = (texts: ReadonlyArray<string>, from: number, prefix: string, other: "bob" | "assistant" = "bob") =>
  texts.map((content, i) => {
    const alice = (from + i) % 2 === 0
    return {
      message_id: `${prefix}-${i}`,
      sender_id: alice ? "alice" : other,
      role: alice || other === "bob" ? "user" as const : "assistant" as const,
      timestamp: T0 + (from + i) * 60_000,
      content
    }
  })

// A memcell boundary falls between Bob's question and Alice's reply: the reply is the first
// message of the next memcell, and shares no word with the question asked of search. Bob has
// left by then (Alice goes on with the assistant): the next memcell is Alice's memory, not his.
const QUESTION_CELL = [
  "I finally finished the garden shed this weekend.",
  "Nice, the shed looks great.",
  "Thanks! Oh, and my pottery class is on a break for the summer.",
  "Sorry to hear the pottery class stopped. What will you do to stay busy?"
]
const REPLY_CELL = [
  "Reading that novel you recommended, and painting landscapes most evenings.",
  "Landscapes sound relaxing.",
  "They are. Next month I want to try watercolours.",
  "Send me a picture when you do."
]


const seed = Effect.gen(function*() {
  const memory = yield* Memory
  // The fake model never cuts until flush: one flush per memcell.
  yield* memory.add(addRequest("garden", turns(QUESTION_CELL, 0, "q")))
  yield* memory.flush(keyOf("garden"))
  yield* memory.add(addRequest("garden", turns(REPLY_CELL, QUESTION_CELL.length, "r", "assistant")))
  yield* memory.flush(keyOf("garden"))
  // Another session of the same user, later, so "the next memcell" is not just the next in time.
  yield* memory.add(addRequest("other", turns(["My pottery teacher moved to Lisbon.", "Lisbon is lovely."], 20, "o")))
  yield* memory.flush(keyOf("other"))
  yield* runQueuedJobs
})

forEachEngine((engine) =>
  describe("context across a memcell boundary", () => {
    it.effect("a line at the end of a memcell is shown with the reply that opens the next one", () =>
      Effect.gen(function*() {
        yield* seed
        const result = yield* searchAs({ user_id: "alice", query: "What does Alice do while her pottery class is on a break?", max_tokens: 400 })
        const ids = (result.context_lines ?? []).map((line) => line.message_ids[0])
        const question = ids.indexOf("q-3")
        expect(question).toBeGreaterThanOrEqual(0)
        // The reply comes right after the question, in its span, with its date and speaker.
        expect(ids[question + 1]).toBe("r-0")
        expect(result.context).toContain(
          "bob: Sorry to hear the pottery class stopped. What will you do to stay busy?\n[2024-05-06] alice: Reading that novel"
        )
        // Each message once, and nothing of the other session stands in for the neighbour.
        expect(new Set(ids).size).toBe(ids.length)
        expect(ids.filter((id) => id === "o-0" || id === "o-1").every((id) => ids.indexOf(id) !== question + 1)).toBe(true)
      }).pipe(Effect.provide(keywordSearchTestLayer({ database: engine.fresh }))))

    it.effect("a line at the start of a memcell is shown with the message that closed the one before", () =>
      Effect.gen(function*() {
        yield* seed
        const result = yield* searchAs({ user_id: "alice", query: "novel recommended", max_tokens: 400 })
        const ids = (result.context_lines ?? []).map((line) => line.message_ids[0])
        const reply = ids.indexOf("r-0")
        expect(reply).toBeGreaterThan(0)
        expect(ids[reply - 1]).toBe("q-3")
      }).pipe(Effect.provide(keywordSearchTestLayer({ database: engine.fresh }))))

    it.effect("a neighbour comes only from the asking user's own episodes", () =>
      Effect.gen(function*() {
        yield* seed
        // Bob's memory holds the question, not the memcell he took no part in.
        const bob = yield* searchAs({ user_id: "bob", query: "What will you do while the pottery class is on a break?", max_tokens: 400 })
        const bobIds = (bob.context_lines ?? []).map((line) => line.message_ids[0])
        expect(bobIds).toContain("q-3")
        expect(bobIds.filter((id) => id?.startsWith("r-"))).toEqual([])
        const carol = yield* searchAs({ user_id: "carol", query: "pottery class break", max_tokens: 400 })
        expect(carol.context_lines ?? []).toEqual([])
      }).pipe(Effect.provide(keywordSearchTestLayer({ database: engine.fresh }))))
  })
)
