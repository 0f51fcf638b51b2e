import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { vi } from "vitest"
import { Memory } from "../../src/Memorize/Memory.js"
import { forEachEngine } from "../support/Engines.js"
import { addRequest, keyOf } from "../support/Messages.js"
import { keywordSearchTestLayer, runQueuedJobs, searchAs } from "../support/SearchTestLayer.js"

// Each test builds a database, the tokenizer and the lexicon: seconds on a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 })

const DAY = 86_400_000
const MAY_1 = Date.UTC(2024, 4, 1, 18, 0)

/**
 * Thirty evenings of the same small talk, every other day from May 1 to June 28, one session
 * each; only the answer of the 7th (May 13) differs, and no word of the question picks one
 * evening over another: only its date does.
 */
const evening = (day: number) => [
  "Long day at work again, the usual meetings.",
  "How do you feel about it?",
  day === 7 ? "Honestly I feel exhausted and a bit lonely." : "Fine, nothing special to report.",
  "Get some rest then."
]


const seed = Effect.gen(function*() {
  const memory = yield* Memory
  for (let day = 1; day <= 30; day++) {
    const session = `evening-${day}`
    yield* memory.add(addRequest(session, evening(day).map((content, i) => ({
      message_id: `d${day}-${i}`,
      sender_id: i % 2 === 0 ? "alice" : "bob",
      role: "user",
      timestamp: MAY_1 + (day - 1) * 2 * DAY + i * 60_000,
      content
    }))))
    yield* memory.flush(keyOf(session))
  }
  yield* runQueuedJobs
})

forEachEngine((engine) =>
  describe("a query that names a date", () => {
    it.effect("brings that day's episode among the few asked for, and its lines first in the context", () =>
      Effect.gen(function*() {
        yield* seed
        const result = yield* searchAs({ user_id: "alice", query: "How did Alice feel on May 13th, 2024?", top_k: 3, max_tokens: 120 })
        expect(result.episodes.map((e) => e.session_id)).toContain("evening-7")
        expect(result.context_lines?.[0]?.text.startsWith("[2024-05-13]")).toBe(true)
        expect(result.context?.split("\n\n")[0]).toContain("Honestly I feel exhausted")
        // The date is what picks the evening: another date, another evening. ("13th": SQLite's
        // index also holds the lines' "2024-05-13" as words, and a bare "13" would match those.)
        const other = yield* searchAs({ user_id: "alice", query: "How did Alice feel on May 23rd, 2024?", top_k: 3, max_tokens: 120 })
        expect(other.context_lines?.[0]?.text.startsWith("[2024-05-23]")).toBe(true)
        expect(other.context?.split("\n\n")[0]).not.toContain("exhausted")
      }).pipe(Effect.provide(keywordSearchTestLayer({ database: engine.fresh }))))

    it.effect("a month without a day prefers that month's episodes; a date outside the filters stays out", () =>
      Effect.gen(function*() {
        yield* seed
        const june = yield* searchAs({ user_id: "alice", query: "What happened at work in June 2024?", top_k: 5 })
        expect(june.episodes).toHaveLength(5)
        expect(june.episodes.every((e) => new Date(e.timestamp).getUTCMonth() === 5)).toBe(true)
        const filtered = yield* searchAs({
          user_id: "alice",
          query: "How did Alice feel on May 13, 2024?",
          top_k: 3,
          filters: { timestamp: { gte: MAY_1 + 20 * DAY } }
        })
        expect(filtered.episodes.map((e) => e.session_id)).not.toContain("evening-7")
      }).pipe(Effect.provide(keywordSearchTestLayer({ database: engine.fresh }))))
  })
)
