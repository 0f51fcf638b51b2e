import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Lexicon } from "../../src/Text/Lexicon.js"

layer(Lexicon.Default)("Lexicon", (it) => {
  describe("terms", () => {
    it.effect("stems inflections of a word to the same term", () =>
      Effect.gen(function*() {
        const lexicon = yield* Lexicon
        expect(lexicon.terms("running")).toEqual(lexicon.terms("runs"))
        expect(lexicon.terms("Running RUNS run")).toEqual(["run", "run", "run"])
        expect(lexicon.terms("replication")).toEqual(lexicon.terms("replicated"))
      }))

    it.effect("drops stop words, punctuation, numbers and one-character tokens, and lowercases", () =>
      Effect.gen(function*() {
        const lexicon = yield* Lexicon
        expect(lexicon.terms("The 42 Cats, and a dog & x!! 3.5 -- 10:30")).toEqual(["cat", "dog"])
        expect(lexicon.terms("I was there, but it was not me.")).toEqual([])
      }))

    it.effect("keeps the word of hashtags, the base of contractions and possessives", () =>
      Effect.gen(function*() {
        const lexicon = yield* Lexicon
        expect(lexicon.terms("#Travel")).toEqual(["travel"])
        expect(lexicon.terms("I'm sure you're fine")).toEqual(["sure", "fine"])
        expect(lexicon.terms("Alice's garden")).toEqual(["alic", "garden"])
      }))

    it.effect("keeps text order and repeats, and gives the same answer every time", () =>
      Effect.gen(function*() {
        const lexicon = yield* Lexicon
        const text = "Postgres replication lag: the replica lags behind the Postgres primary"
        const first = lexicon.terms(text)
        expect(first).toEqual(["postgr", "replic", "lag", "replica", "lag", "postgr", "primari"])
        expect(lexicon.terms(text)).toEqual(first)
      }))

    it.effect("gives character bigrams for Chinese, Japanese and Korean runs", () =>
      Effect.gen(function*() {
        const lexicon = yield* Lexicon
        const chinese = lexicon.terms("我们明天去东京。")
        expect(chinese).toContain("东京")
        expect(chinese).toContain("明天")
        expect(chinese.every((term) => [...term].length === 2)).toBe(true)

        const japanese = lexicon.terms("東京に行きたいです")
        expect(japanese).toContain("東京")
        // Pure-hiragana bigrams are grammar (です, たい), not topic.
        expect(japanese).not.toContain("です")

        expect(lexicon.terms("한국어 공부")).toEqual(["한국", "국어", "공부"])
        expect(lexicon.terms("猫")).toEqual(["猫"])
      }))

    it.effect("splits Latin words glued to CJK text", () =>
      Effect.gen(function*() {
        const lexicon = yield* Lexicon
        const terms = lexicon.terms("Postgres的复制有问题")
        expect(terms[0]).toBe("postgr")
        expect(terms).toContain("复制")
        expect(terms).toContain("问题")
      }))

    it.effect("answers [] for empty, blank and emoji-only text", () =>
      Effect.gen(function*() {
        const lexicon = yield* Lexicon
        for (const text of ["", "   \n\t ", "😀🎉👍", "...", "!!!", "👍🏽 ❤️"]) {
          expect(lexicon.terms(text)).toEqual([])
        }
      }))
  })

  describe("sentences", () => {
    it.effect("splits English text into trimmed sentences", () =>
      Effect.gen(function*() {
        const lexicon = yield* Lexicon
        expect(lexicon.sentences("Hello there.  How are you? I'm fine!")).toEqual([
          "Hello there.",
          "How are you?",
          "I'm fine!"
        ])
      }))

    it.effect("also splits after CJK full stops", () =>
      Effect.gen(function*() {
        const lexicon = yield* Lexicon
        expect(lexicon.sentences("我们明天去东京。好的！几点出发？")).toEqual(["我们明天去东京。", "好的！", "几点出发？"])
      }))

    it.effect("answers [] for empty or blank text", () =>
      Effect.gen(function*() {
        const lexicon = yield* Lexicon
        expect(lexicon.sentences("")).toEqual([])
        expect(lexicon.sentences("  \n ")).toEqual([])
      }))
  })
})
