/**
 * A small in-memory Okapi BM25 index: the ranking the eval's baselines use (the "simple RAG" a
 * user would build without Engram). Documents and queries are given as terms, normally
 * `Lexicon.terms` (stemmed content words), so baselines and Engram see the same analysis.
 *
 * Scoring is Lucene's: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), which is never negative, and
 * tf saturation k1 = 1.2 with length normalisation b = 0.75. Each distinct query term counts once.
 */

export interface Bm25Options {
  readonly k1?: number
  readonly b?: number
}

export interface Bm25Hit {
  /** Position of the document in the list the index was built from. */
  readonly index: number
  readonly score: number
}

export interface Bm25Index {
  readonly size: number
  /** Documents with a positive score, best first (ties: earlier document first), at most `limit`. */
  readonly search: (queryTerms: ReadonlyArray<string>, limit: number) => ReadonlyArray<Bm25Hit>
}

interface Posting {
  readonly doc: number
  readonly tf: number
}

export const makeBm25Index = (documents: ReadonlyArray<ReadonlyArray<string>>, options: Bm25Options = {}): Bm25Index => {
  const k1 = options.k1 ?? 1.2
  const b = options.b ?? 0.75
  const postings = new Map<string, Array<Posting>>()
  const lengths = documents.map((terms) => terms.length)
  const averageLength = lengths.length === 0 ? 0 : lengths.reduce((sum, n) => sum + n, 0) / lengths.length

  documents.forEach((terms, doc) => {
    const counts = new Map<string, number>()
    for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1)
    for (const [term, tf] of counts) {
      let list = postings.get(term)
      if (list === undefined) postings.set(term, list = [])
      list.push({ doc, tf })
    }
  })

  const search = (queryTerms: ReadonlyArray<string>, limit: number): ReadonlyArray<Bm25Hit> => {
    const n = documents.length
    const scores = new Map<number, number>()
    for (const term of new Set(queryTerms)) {
      const list = postings.get(term)
      if (list === undefined) continue
      const idf = Math.log(1 + (n - list.length + 0.5) / (list.length + 0.5))
      for (const { doc, tf } of list) {
        const norm = averageLength === 0 ? 1 : 1 - b + b * (lengths[doc]! / averageLength)
        scores.set(doc, (scores.get(doc) ?? 0) + idf * (tf * (k1 + 1)) / (tf + k1 * norm))
      }
    }
    return Array.from(scores, ([index, score]) => ({ index, score }))
      .filter((hit) => hit.score > 0)
      .sort((x, y) => y.score - x.score || x.index - y.index)
      .slice(0, Math.max(0, limit))
  }

  return { size: documents.length, search }
}
