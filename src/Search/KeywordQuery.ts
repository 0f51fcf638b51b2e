/**
 * Turns a user's query into FTS5 MATCH expressions built only from tokens extracted here, each one
 * quoted: FTS syntax in the query (`"`, `*`, `AND`, `NEAR`, `(`, `-`, `:`, `^`) is never
 * interpreted, so no query can cause an FTS syntax error. Tokens are ORed for recall; bm25 ranks.
 *
 * - Latin/other words go to the English index (`porter unicode61`): passed as typed (lowercased),
 *   so FTS stems them exactly as it stemmed the index. Stop words are dropped unless nothing else is left.
 * - CJK runs of 3+ characters become overlapping trigrams for the `trigram` index; runs of 1-2
 *   characters (common two-character words) are matched as substrings instead.
 */

const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30fc]+/gu
const HIRAGANA_ONLY = /^\p{Script=Hiragana}+$/u
/** What unicode61 keeps together: letters, marks and digits. Everything else separates tokens. */
const WORD = /[\p{L}\p{M}\p{N}]+/gu
const NUMBER = /^\p{N}+$/u

/** Bounds on the expression, so a 2000-character query stays a cheap lookup. */
export const MAX_WORDS = 32
export const MAX_TRIGRAMS = 32
export const MAX_SHORT_CJK = 8

export interface KeywordTerms {
  /** Lowercased words for the English index. */
  readonly words: ReadonlyArray<string>
  /** CJK trigrams for the trigram index. */
  readonly trigrams: ReadonlyArray<string>
  /** CJK runs of 1-2 characters, matched as substrings. */
  readonly shortCjk: ReadonlyArray<string>
}

const dedupe = (items: ReadonlyArray<string>, max: number) => Array.from(new Set(items)).slice(0, max)

/**
 * The search terms of `query`. `isContentWord` tells stop words (and other words carrying no
 * topic) from content words; numbers are always kept (dates, flight numbers, versions).
 */
export const keywordTerms = (query: string, isContentWord: (word: string) => boolean): KeywordTerms => {
  const cjkRuns = query.match(CJK_RUN) ?? []
  const rawWords = (query.replace(CJK_RUN, " ").toLowerCase().match(WORD) ?? []).filter((w) => w.length > 1 || NUMBER.test(w))
  const content = rawWords.filter((w) => NUMBER.test(w) || isContentWord(w))
  const trigrams: Array<string> = []
  const particles: Array<string> = []
  const shortCjk: Array<string> = []
  for (const run of cjkRuns) {
    const chars = Array.from(run)
    if (chars.length < 3) {
      if (!HIRAGANA_ONLY.test(run)) shortCjk.push(run)
      continue
    }
    for (let i = 0; i + 3 <= chars.length; i++) {
      const trigram = chars.slice(i, i + 3).join("")
      // Pure-hiragana trigrams are mostly particles and inflections (ました, ている).
      ;(HIRAGANA_ONLY.test(trigram) ? particles : trigrams).push(trigram)
    }
  }
  return {
    words: dedupe(content.length > 0 ? content : rawWords, MAX_WORDS),
    trigrams: dedupe(trigrams.length > 0 ? trigrams : particles, MAX_TRIGRAMS),
    shortCjk: dedupe(shortCjk, MAX_SHORT_CJK)
  }
}

/** One FTS5 string literal: the token as a phrase, with `"` doubled (the only escape FTS5 has). */
export const ftsString = (token: string) => `"${token.replaceAll("\"", "\"\"")}"`

const anyOf = (tokens: ReadonlyArray<string>) => `(${tokens.map(ftsString).join(" OR ")})`

/**
 * The English-index expression: any word in the text columns, and — when an owner is given and
 * its id has indexable characters — the owner's phrase in the `owner` column, so FTS only ranks
 * that owner's rows (exact scope is still checked against the base table).
 */
export const porterMatch = (words: ReadonlyArray<string>, textColumns: ReadonlyArray<string>, owner?: string): string => {
  const text = `{${textColumns.join(" ")}} : ${anyOf(words)}`
  const ownerTokens = owner?.toLowerCase().match(WORD) ?? []
  return ownerTokens.length === 0 ? text : `owner : ${ftsString(ownerTokens.join(" "))} AND ${text}`
}

/** The trigram-index expression: any trigram anywhere. */
export const trigramMatch = (trigrams: ReadonlyArray<string>): string => anyOf(trigrams)

/** Whether an owner id narrows the English index (see `porterMatch`). */
export const ownerIsIndexable = (owner: string) => (owner.match(WORD) ?? []).length > 0

/**
 * For a big owner, the words worth ranking by: bm25 costs time per matching row, and a word found
 * in most rows (a name, "said") costs the most while ranking the least. Keeps words from the
 * rarest up while their document frequencies add up to at most `budget`, and always the rarest
 * one. Unknown frequencies count as 0 (kept).
 */
export const affordableWords = (
  words: ReadonlyArray<string>,
  frequencyOf: (word: string) => number,
  budget: number
): ReadonlyArray<string> => {
  const byRarity = [...words].sort((a, b) => frequencyOf(a) - frequencyOf(b))
  const kept: Array<string> = []
  let postings = 0
  for (const word of byRarity) {
    postings += frequencyOf(word)
    if (kept.length > 0 && postings > budget) break
    kept.push(word)
  }
  return kept
}
