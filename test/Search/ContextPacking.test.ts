import { describe, expect, it } from "@effect/vitest"
import type { EvidenceSpan } from "../../src/Search/Evidence.js"
import { FACT_LINE_MAX_SOURCES, factLines } from "../../src/Search/FactLines.js"
import { packContext } from "../../src/Search/ContextPacking.js"
import type { FactRecord } from "../../src/Search/SearchRepo.js"
import { SEARCH_TUNING } from "../../src/Search/SearchTuning.js"

/** One token per word: enough to check the budget arithmetic. */
const words = (text: string) => text.split(/\s+/).filter((w) => w.length > 0).length

const span = (score: number, ...ids: ReadonlyArray<string>): EvidenceSpan => ({
  episode_id: "e1",
  score,
  lines: ids.map((id, position) => ({ episode_id: "e1", position, message_id: id, line: `[2024-05-06] Alice: line ${id} here` }))
})
const fact = (text: string, score: number, ...message_ids: ReadonlyArray<string>) => ({ text, score, message_ids })

describe("packing the context: spans and fact lines", () => {
  it("ranks spans and facts together by score, leaves out a fact repeating shown lines, and keeps to the budget", () => {
    const spans = [span(2, "m1", "m2"), span(0.5, "m7")]
    const facts = [
      fact("[2024-05-06] Alice moved to Lisbon.", 1.5, "m5"),
      fact("[2024-05-06] Alice said line m1.", 1.2, "m1"),
      fact("[2024-05-06] Alice owns a cat.", 0.2, "m9")
    ]
    const packed = packContext(words, spans, facts, [], 1000)
    expect(packed.context_lines.map((l) => [l.kind, l.message_ids.join(",")])).toEqual([
      ["message", "m1"],
      ["message", "m2"],
      ["fact", "m5"],
      ["message", "m7"],
      ["fact", "m9"]
    ])
    expect(packed.context.split("\n\n")[1]).toBe("[2024-05-06] Alice moved to Lisbon.")
    // A budget too small for the second block skips it and keeps what still fits further down.
    const small = packContext(words, spans, facts, [], 16)
    expect(small.context_tokens).toBeLessThanOrEqual(16)
    expect(small.context_lines.map((l) => l.message_ids.join(","))).toEqual(["m1", "m2", "m5"])
    for (const budget of [1, 5, 9, 12, 20, 30]) expect(packContext(words, spans, facts, [], budget).context_tokens).toBeLessThanOrEqual(budget)
  })

  it("leaves out a span's lines that a fact above already stated, and a span of only such lines", () => {
    const facts = [fact("[2024-05-06] Alice restored a car.", 3, "m2"), fact("[2024-05-06] Alice sold it.", 2.5, "m7")]
    const packed = packContext(words, [span(2, "m1", "m2", "m3"), span(1, "m7")], facts, [], 1000)
    expect(packed.context_lines.map((l) => [l.kind, l.message_ids.join(",")])).toEqual([
      ["fact", "m2"],
      ["fact", "m7"],
      ["message", "m1"],
      ["message", "m3"]
    ])
    expect(packed.context).toBe([
      "[2024-05-06] Alice restored a car.",
      "[2024-05-06] Alice sold it.",
      "[2024-05-06] Alice: line m1 here\n[2024-05-06] Alice: line m3 here"
    ].join("\n\n"))
    expect(packed.context_tokens).toBe(words(packed.context))
  })

  it("trims whole blocks, with exactly their lines, when the whole counts more than its pieces", () => {
    // Each blank line between blocks costs 3 more than the packing reserves for it.
    const costly = (text: string) => words(text) + 3 * (text.split("\n\n").length - 1)
    // The last span repeats the line text of the one before it (same day, speaker and words).
    const repeated: EvidenceSpan = { ...span(0.5, "m1"), lines: [{ ...span(0.5, "m1").lines[0]!, message_id: "m8" }] }
    // The pieces fit 17 (5 + 6 + 6); the whole counts 21, so the last block goes.
    const packed = packContext(costly, [span(2, "m3"), span(1, "m1"), repeated], [], [], 17)
    expect(packed.context_tokens).toBeLessThanOrEqual(17)
    expect(packed.context_lines.map((l) => l.message_ids.join(","))).toEqual(["m3", "m1"])
    expect(packed.context.split("\n\n")).toHaveLength(2)
  })

  it("scores facts by their share of the best bm25 plus their rescaled cosine, on the windows' scale, plus their episode's standing, and keeps out facts of many sources", () => {
    const record = (fact_id: string, sources: number): FactRecord => ({
      fact_id,
      episode_id: "e1",
      content: `Fact  ${fact_id}\n text`,
      timestamp: Date.UTC(2024, 4, 6, 12),
      message_ids: Array.from({ length: sources }, (_, i) => `${fact_id}-m${i}`)
    })
    const records = [record("f1", 1), record("f2", 2), record("f3", FACT_LINE_MAX_SOURCES), record("f4", FACT_LINE_MAX_SOURCES + 1)]
    const keyword = [{ id: "f1", episode_id: "e1", rank: -4 }, { id: "f2", episode_id: "e1", rank: -2 }, { id: "f4", episode_id: "e1", rank: -1 }]
    const vector = [{ id: "f3", episode_id: "e1", similarity: 0.9 }, { id: "f2", episode_id: "e1", similarity: 0.5 }]
    const { factEpisodeWeight: e, factLineWeight: w, passageVectorWeight: v } = SEARCH_TUNING
    const last = new Map([["e1", 0]])
    const scores = (lines: ReadonlyArray<{ readonly text: string; readonly score: number }>) => lines.map((l) => [l.text, l.score])
    const byScore = (rows: Array<[string, number]>) => rows.sort((a, b) => b[1] - a[1])
    // Windows that matched less than the facts: the facts' own scale.
    const lines = factLines(records, keyword, vector, { bestBm25: 3, cosines: { low: 0.6, high: 0.7 } }, last)
    expect(scores(lines)).toEqual(byScore([
      ["[2024-05-06] Fact f1 text", w * 1],
      ["[2024-05-06] Fact f3 text", w * v * 1],
      ["[2024-05-06] Fact f2 text", w * 0.5]
    ]))
    expect(lines.find((l) => l.message_ids.includes("f4-m0"))).toBeUndefined()
    // Windows that matched better: the facts are scored on the windows' bm25 and cosine scale.
    const onWindows = factLines(records, keyword, vector, { bestBm25: 8, cosines: { low: 0.1, high: 1.3 } }, last)
    expect(scores(onWindows)).toEqual(byScore([
      ["[2024-05-06] Fact f1 text", w * 0.5],
      ["[2024-05-06] Fact f3 text", w * v * (0.8 / 1.2)],
      ["[2024-05-06] Fact f2 text", w * (0.25 + v * (0.4 / 1.2))]
    ]))
    // The same facts of an episode halfway up the chosen ones.
    const halfway = factLines(records, keyword, vector, { bestBm25: 8, cosines: { low: 0.1, high: 1.3 } }, new Map([["e1", 0.5]]))
    expect(scores(halfway)).toEqual(scores(onWindows).map(([text, score]) => [text, (score as number) + e * 0.5]))
    expect(e).toBeGreaterThan(0)
  })
})
