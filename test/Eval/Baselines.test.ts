import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { makeTurnBaseline, makeWindowBaseline, shownTurns, turnWindows } from "../../src/Eval/Baselines.js"
import { makeBm25Index } from "../../src/Eval/Bm25.js"
import { parseLocomo } from "../../src/Eval/LocomoData.js"
import { Lexicon } from "../../src/Text/Lexicon.js"
import { locomoMini } from "../fixtures/locomoMini.js"

describe("BM25", () => {
  it("scores with Lucene's idf and length normalisation", () => {
    const index = makeBm25Index([["cat", "dog"], ["cat"], ["fish"]])
    const hits = index.search(["cat"], 10)
    // The shorter document wins; the one without the term is not returned.
    expect(hits.map((h) => h.index)).toEqual([1, 0])
    // N = 3, df = 1 for "fish": idf = ln(1 + 2.5 / 1.5); tf 1 at length 1, average length 4/3.
    const [fish] = index.search(["fish"], 10)
    const idf = Math.log(1 + 2.5 / 1.5)
    const norm = 1 - 0.75 + 0.75 * (1 / (4 / 3))
    expect(fish!.score).toBeCloseTo(idf * 2.2 / (1 + 1.2 * norm), 12)
  })

  it("counts a repeated query term once, limits the hits and ignores unknown terms", () => {
    const index = makeBm25Index([["a", "b"], ["b"], ["a"], ["c"]])
    expect(index.search(["a", "a"], 10)).toEqual(index.search(["a"], 10))
    expect(index.search(["a", "b"], 1)).toHaveLength(1)
    expect(index.search(["nothing"], 10)).toEqual([])
    expect(makeBm25Index([]).search(["a"], 10)).toEqual([])
  })
})

describe("windows", () => {
  it("never cross a session and are cut at its ends", () => {
    const turn = (id: string) => ({ text: id, message_ids: [id], kind: "text" as const })
    const windows = turnWindows([[turn("a1"), turn("a2"), turn("a3")], [turn("b1")]], 1)
    expect(windows.map((w) => w.map((p) => p.text))).toEqual([["a1", "a2"], ["a1", "a2", "a3"], ["a2", "a3"], ["b1"]])
  })
})

layer(Lexicon.Default)("baselines on the mini data set", (it) => {
  const conversation = Effect.map(parseLocomo("mini.json", JSON.stringify(locomoMini)), (all) => all[0]!)

  it.effect("show each turn with its session date and speaker", () =>
    Effect.map(conversation, (c) => {
      const [first] = shownTurns(c)
      expect(first![0]).toEqual({ text: "[2023-05-08] Alice: Hi Bob! I adopted a puppy named Biscuit last week.", message_ids: ["D1:1"], kind: "text" })
    }))

  it.effect("turn baseline ranks the turn that shares the question's words first", () =>
    Effect.gen(function*() {
      const retriever = yield* makeTurnBaseline
      const ready = yield* retriever.prepare(yield* conversation)
      const results = yield* ready.retrieve("When did Bob run the marathon in Boston?", 10)
      expect(results[0]!.parts.map((p) => p.message_ids)).toEqual([["D2:1"]])
      expect(results.every((r) => r.parts.length === 1)).toBe(true)
      expect(yield* ready.retrieve("marathon", 1)).toHaveLength(1)
    }))

  it.effect("window baseline returns ±1 turns around the best window and shows no turn twice", () =>
    Effect.gen(function*() {
      const retriever = yield* makeWindowBaseline(1)
      const ready = yield* retriever.prepare(yield* conversation)
      const results = yield* ready.retrieve("Where did Bob run the marathon?", 10)
      const shown = results.flatMap((r) => r.parts.flatMap((p) => p.message_ids))
      expect(new Set(shown).size).toBe(shown.length)
      // Every returned turn of the first result is in session 2, around the marathon turns.
      expect(results[0]!.parts.every((p) => p.message_ids[0]!.startsWith("D2:"))).toBe(true)
      expect(shown).toContain("D2:1")
    }))
})
