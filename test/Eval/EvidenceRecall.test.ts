import { describe, expect, it } from "@effect/vitest"
import {
  countWords,
  type EvidenceTexts,
  normalizeText,
  type ReturnedResult,
  type ReturnedText,
  scoreQuestion,
  verbatimEnd
} from "../../src/Eval/EvidenceRecall.js"

/** `n` filler words. */
const words = (n: number, word = "w") => Array.from({ length: n }, () => word).join(" ")

const turns: Record<string, string> = {
  a: "I adopted a puppy named Biscuit last week",
  b: "We ran the Boston marathon together in April",
  c: "unrelated remark",
  d: "Thanks!"
}

const STOP = new Set(["i", "a", "we", "the", "in", "last", "w", "on", "and", "of", "to", "she", "he", "her", "his", "with"])
/** Content words: lowercased letter runs without a few stop words (a stand-in for `Lexicon.terms`). */
const terms = (text: string) => (text.toLowerCase().match(/[a-z]+/g) ?? []).filter((w) => !STOP.has(w))
const texts: EvidenceTexts = { text: (id) => turns[id], terms }

const settings = { budgets: [5, 10, 20, 1000] }

const text = (t: string, message_ids: ReadonlyArray<string>): ReturnedText => ({ text: t, message_ids, kind: "text" })
const fact = (t: string, message_ids: ReadonlyArray<string>): ReturnedText => ({ text: t, message_ids, kind: "fact" })
const result = (...parts: ReadonlyArray<ReturnedText>): ReturnedResult => ({ parts })

describe("countWords and verbatimEnd", () => {
  it("counts runs of non-whitespace", () => {
    expect(countWords("")).toBe(0)
    expect(countWords(" On 2023-05-08, Alice said: \"hi there\"\nBob  replied. ")).toBe(8)
  })

  it("finds a turn on word boundaries only, after normalising case and whitespace", () => {
    const part = normalizeText("[2023-05-08] Alice:   I ADOPTED a puppy\n named Biscuit last week")
    expect(verbatimEnd(part, normalizeText(turns.a!))).toBe(10)
    expect(verbatimEnd(normalizeText("unrelated remarks here"), normalizeText(turns.c!))).toBeUndefined()
    expect(verbatimEnd(normalizeText("an unrelated remark."), normalizeText(turns.c!))).toBe(3)
  })
})

describe("the honest reader", () => {
  it("gives no credit for a summary's sources: an episode's subject and summary do not stand for its turns", () => {
    const episode = text("Alice's new dog\nAlice and Bob talked about pets and weekend plans.", ["a", "b", "c"])
    const score = scoreQuestion(["a", "b"], [result(episode)], texts, settings)
    expect(score.recallAtWords).toEqual({ 5: 0, 10: 0, 20: 0, 1000: 0 })
    expect(score.recallReturned).toBe(0)
    expect(score.wordsToEvidence).toEqual({ a: null, b: null })
    expect(score.wordsReturned).toBe(12)
  })

  it("(a) credits a turn shown verbatim where its text ends, and not when the budget cuts it", () => {
    const results = [
      result(text(words(4), ["c"])),
      // Shown verbatim after the 4 filler words and "[2023-05-08] Alice:": ends at word 4 + 2 + 8 = 14.
      result(text(`[2023-05-08] Alice: ${turns.a!.toUpperCase()}`, ["x"]))
    ]
    const score = scoreQuestion(["a"], results, texts, settings)
    expect(score.wordsToEvidence).toEqual({ a: { words: 14, rule: "verbatim" } })
    expect(score.recallAtWords).toEqual({ 5: 0, 10: 0, 20: 1, 1000: 1 })
    expect(score.strictRecallAtWords).toEqual({ 5: 0, 10: 0, 20: 1, 1000: 1 })
  })

  it("(b) credits a faithful rewrite (>= 60% of the turn's content words) only from a part made from the turn", () => {
    // Turn b's content words: ran, boston, marathon, together, april (5); 3 are needed.
    const rewrite = "Bob and Alice ran the Boston marathon"
    const fromB = scoreQuestion(["b"], [result(text(rewrite, ["b", "c"]))], texts, settings)
    expect(fromB.wordsToEvidence).toEqual({ b: { words: 7, rule: "rewrite" } })
    expect(fromB.recallAtWords).toEqual({ 5: 0, 10: 1, 20: 1, 1000: 1 })
    // The strict variant gives no rewrite credit.
    expect(fromB.strictRecallAtWords).toEqual({ 5: 0, 10: 0, 20: 0, 1000: 0 })
    // The same words from a part not made from b, or too few of b's words, earn nothing.
    expect(scoreQuestion(["b"], [result(text(rewrite, ["c"]))], texts, settings).recallReturned).toBe(0)
    expect(scoreQuestion(["b"], [result(text("Bob ran in Boston", ["b"]))], texts, settings).recallReturned).toBe(0)
  })

  it("(c) credits an atomic fact of at most 3 sources once the whole fact is read", () => {
    const small = fact("Alice has a dog called Biscuit", ["a", "c", "d"])
    const score = scoreQuestion(["a"], [result(text(words(4), []), small)], texts, settings)
    expect(score.wordsToEvidence).toEqual({ a: { words: 10, rule: "fact" } })
    expect(score.recallAtWords).toEqual({ 5: 0, 10: 1, 20: 1, 1000: 1 })
    expect(score.strictRecallAtWords).toEqual({ 5: 0, 10: 1, 20: 1, 1000: 1 })
    // Four sources: the fact stands for none of them; the same text as a non-fact part neither.
    const wide = fact("Alice has a dog called Biscuit", ["a", "b", "c", "d"])
    expect(scoreQuestion(["a"], [result(wide)], texts, settings).recallReturned).toBe(0)
    expect(scoreQuestion(["a"], [result(text("Alice has a dog called Biscuit", ["a"]))], texts, settings).recallReturned).toBe(0)
  })

  it("reads in rank order and keeps the earliest credit of each turn", () => {
    const results = [
      result(text(turns.c!, ["c"]), fact("Alice adopted Biscuit", ["a"])),
      result(text(turns.a!, ["a"]), text(turns.b!, ["b"]))
    ]
    const score = scoreQuestion(["a", "b"], results, texts, settings)
    // a: the fact ends at word 2 + 3 = 5; b: verbatim, ends at 5 + 8 + 8 = 21.
    expect(score.wordsToEvidence).toEqual({ a: { words: 5, rule: "fact" }, b: { words: 21, rule: "verbatim" } })
    // A part cut by the budget gives no rewrite credit, even when the shown share would suffice.
    const cut = scoreQuestion(["b"], [result(text(`ran Boston marathon ${words(10)}`, ["b"]))], texts, settings)
    expect(cut.wordsToEvidence).toEqual({ b: { words: 13, rule: "rewrite" } })
    expect(cut.recallAtWords).toEqual({ 5: 0, 10: 0, 20: 1, 1000: 1 })
    expect(score.recallAtWords).toEqual({ 5: 0.5, 10: 0.5, 20: 0.5, 1000: 1 })
    expect(score.wordsReturned).toBe(21)
    expect(score.results).toBe(2)
  })

  it("scores zero when nothing is returned", () => {
    const none = scoreQuestion(["a"], [], texts, settings)
    expect(none.recallAtWords).toEqual({ 5: 0, 10: 0, 20: 0, 1000: 0 })
    expect(none.wordsToEvidence).toEqual({ a: null })
    expect(none.wordsReturned).toBe(0)
  })
})
