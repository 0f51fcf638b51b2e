import { describe, expect, it } from "@effect/vitest"
import { countWords, type ReturnedResult, scoreQuestion, wordsToReadSources } from "../../src/Eval/EvidenceRecall.js"

/** `n` filler words. */
const words = (n: number, word = "w") => Array.from({ length: n }, () => word).join(" ")

const texts: Record<string, string> = {
  a: "the answer is here",
  b: "second clue right there",
  c: "unrelated remark"
}
const lookup = (id: string) => texts[id]

const settings = { budgets: [5, 10, 20], ks: [1, 2] }

describe("countWords", () => {
  it("counts runs of non-whitespace", () => {
    expect(countWords("")).toBe(0)
    expect(countWords("   ")).toBe(0)
    expect(countWords("one")).toBe(1)
    expect(countWords(" On 2023-05-08, Alice said: \"hi there\"\nBob  replied. ")).toBe(8)
  })
})

describe("wordsToReadSources", () => {
  it("places a quoted source at the end of its quote, any other at the end of the part", () => {
    const part = { text: `Subject line\n${words(3)} Alice said: "${texts.a}" and more words`, message_ids: ["a", "b"] }
    const needed = wordsToReadSources(part, lookup)
    // "Subject line" 2 + 3 filler + "Alice said:" 2 + 4 quoted words.
    expect(needed.get("a")).toBe(11)
    // "b" is not quoted: the whole part (14 words) must be read.
    expect(needed.get("b")).toBe(14)
  })

  it("treats an unknown source like an unquoted one", () => {
    expect(wordsToReadSources({ text: words(6), message_ids: ["zzz"] }, lookup).get("zzz")).toBe(6)
  })
})

describe("scoreQuestion", () => {
  it("finds evidence within a budget only once the reader has reached it", () => {
    const results: ReadonlyArray<ReturnedResult> = [
      { parts: [{ text: words(4), message_ids: ["c"] }] },
      { parts: [{ text: `${words(2)} ${texts.a}`, message_ids: ["a"] }] }, // "a" read at 4 + 6 = 10 words
      { parts: [{ text: words(8), message_ids: ["b"] }] } // "b" read at 10 + 8 = 18 words
    ]
    const score = scoreQuestion(["a", "b"], results, lookup, settings)
    expect(score.recallAtWords).toEqual({ 5: 0, 10: 0.5, 20: 1 })
    expect(score.wordsToEvidence).toEqual({ a: 10, b: 18 })
    expect(score.recallAtK).toEqual({ 1: 0, 2: 0.5 })
    expect(score.wordsAtK).toEqual({ 1: 4, 2: 10 })
    expect(score.wordsReturned).toBe(18)
    expect(score.results).toBe(3)
  })

  it("cuts the part that crosses the budget: a quote past the cut is not read", () => {
    // One long episode: the first quote ends at word 6, the second at word 16.
    const episode = { text: `Title ${texts.a} ${words(6)} ${texts.b}`, message_ids: ["a", "b", "c"] }
    const score = scoreQuestion(["a", "b"], [{ parts: [episode] }], lookup, settings)
    expect(score.wordsToEvidence).toEqual({ a: 5, b: 15 })
    expect(score.recallAtWords).toEqual({ 5: 0.5, 10: 0.5, 20: 1 })
    // At k the whole result counts, whatever its length.
    expect(score.recallAtK).toEqual({ 1: 1, 2: 1 })
  })

  it("counts a fact's sources only when the whole fact is read", () => {
    const fact = { text: "Alice has a puppy named Biscuit", message_ids: ["a"] }
    const score = scoreQuestion(["a"], [{ parts: [{ text: words(4), message_ids: [] }, fact] }], lookup, settings)
    expect(score.wordsToEvidence).toEqual({ a: 10 })
    expect(score.recallAtWords).toEqual({ 5: 0, 10: 1, 20: 1 })
  })

  it("keeps the earliest reach when a source shows up twice", () => {
    const results: ReadonlyArray<ReturnedResult> = [
      { parts: [{ text: words(3), message_ids: ["a"] }] },
      { parts: [{ text: texts.a!, message_ids: ["a"] }] }
    ]
    expect(scoreQuestion(["a"], results, lookup, settings).wordsToEvidence).toEqual({ a: 3 })
  })

  it("scores zero when nothing is returned or the evidence never appears", () => {
    const none = scoreQuestion(["a"], [], lookup, settings)
    expect(none.recallAtWords).toEqual({ 5: 0, 10: 0, 20: 0 })
    expect(none.wordsToEvidence).toEqual({ a: null })
    expect(none.wordsReturned).toBe(0)
    const other = scoreQuestion(["a"], [{ parts: [{ text: texts.c!, message_ids: ["c"] }] }], lookup, settings)
    expect(other.recallAtK).toEqual({ 1: 0, 2: 0 })
  })
})
