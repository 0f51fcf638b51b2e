import { describe, expect, it } from "@effect/vitest"
import { fusedOrder, normalizedFusion, reciprocalRanks, RRF_K } from "../../src/Search/Fusion.js"
import { ftsString, keywordTerms, MAX_WORDS, porterMatch, trigramMatch } from "../../src/Search/KeywordQuery.js"

const STOP = new Set(["the", "a", "at", "and", "or", "not", "near", "did", "what", "is", "to", "of", "in"])
const isContentWord = (w: string) => !STOP.has(w)

describe("keywordTerms", () => {
  it("keeps lowercased content words and numbers, drops stop words and one-letter words", () => {
    expect(keywordTerms("What did Alice cook in 2023 at the Paella-Fest? a b 7", isContentWord)).toEqual({
      words: ["alice", "cook", "2023", "paella", "fest", "7"],
      trigrams: [],
      shortCjk: []
    })
  })

  it("falls back to the stop words when nothing else is left", () => {
    expect(keywordTerms("what is the", isContentWord).words).toEqual(["what", "is", "the"])
  })

  it("splits CJK runs into trigrams (3+ characters) and substrings (1-2), skipping hiragana particles", () => {
    expect(keywordTerms("去北京旅行", isContentWord)).toEqual({ words: [], trigrams: ["去北京", "北京旅", "京旅行"], shortCjk: [] })
    expect(keywordTerms("北京 の 东", isContentWord)).toEqual({ words: [], trigrams: [], shortCjk: ["北京", "东"] })
    expect(keywordTerms("寿司をたべました", isContentWord).trigrams).not.toContain("べました")
    expect(keywordTerms("Postgres的复制", isContentWord)).toEqual({ words: ["postgres"], trigrams: ["的复制"], shortCjk: [] })
  })

  it("bounds the number of terms of a long query", () => {
    const long = Array.from({ length: 200 }, (_, i) => `word${i}`).join(" ")
    expect(keywordTerms(long, isContentWord).words).toHaveLength(MAX_WORDS)
  })
})

describe("FTS expressions", () => {
  it("quote every token, so FTS operators in a query are plain words", () => {
    expect(ftsString("he said \"hi\"")).toBe("\"he said \"\"hi\"\"\"")
    const terms = keywordTerms("\"C++ AND Rust\" NEAR(x) -y *", () => true)
    const expression = porterMatch(terms.words, ["subject", "summary", "content"], "alice")
    expect(expression).toBe(
      // One-letter words (c, x, y) carry no topic and are dropped.
      "owner : \"alice\" AND {subject summary content} : (\"and\" OR \"rust\" OR \"near\")"
    )
    // Every token sits inside quotes: nothing outside them but our own operators.
    expect(expression.replace(/"(?:[^"]|"")*"/g, "").replace(/owner|AND|OR|subject|summary|content|[{}():\s]/g, "")).toBe("")
  })

  it("narrow to the owner only when the owner id has indexable characters", () => {
    expect(porterMatch(["paella"], ["content"], "alice.smith@x.org")).toBe("owner : \"alice smith x org\" AND {content} : (\"paella\")")
    expect(porterMatch(["paella"], ["content"], "_-_")).toBe("{content} : (\"paella\")")
  })

  it("OR the trigrams", () => {
    expect(trigramMatch(["去北京", "北京旅"])).toBe("(\"去北京\" OR \"北京旅\")")
  })
})

describe("reciprocal-rank fusion", () => {
  it("sums 1/(k + rank) over lists, counting an id once per list", () => {
    const scores = reciprocalRanks([["a", "b", "a"], ["b", "c"]])
    expect(scores.get("a")).toBeCloseTo(1 / (RRF_K + 1), 12)
    expect(scores.get("b")).toBeCloseTo(1 / (RRF_K + 2) + 1 / (RRF_K + 1), 12)
    expect(scores.get("c")).toBeCloseTo(1 / (RRF_K + 2), 12)
  })

  it("orders agreement first: second in both lists beats first in one", () => {
    expect(fusedOrder([["a", "b", "c"], ["b", "c", "a"]])).toEqual(["b", "a", "c"])
    expect(fusedOrder([["x", "shared"], ["y", "shared"]])).toEqual(["shared", "x", "y"])
  })

  it("normalises to (0, 1] by the number of lists the method runs", () => {
    const scores = normalizedFusion([["a", "b"], ["a"]], 2)
    expect(scores.get("a")).toBe(1)
    expect(scores.get("b")).toBeCloseTo((1 / (RRF_K + 2)) / (2 / (RRF_K + 1)), 12)
    // A method with four lists: first in two of them is half of the maximum.
    expect(normalizedFusion([["a"], ["a"]], 4).get("a")).toBeCloseTo(0.5, 12)
  })
})
