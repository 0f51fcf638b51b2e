/**
 * # Evidence recall
 *
 * The eval's metric, computed without any LLM: of the turns a question's answer rests on (its
 * evidence), what share did the retriever put in front of the agent?
 *
 * A retriever answers with ranked **results** (an Engram episode with its facts, a turn, a
 * window). Each result is read as one or more **parts** in order, and a part is exactly the text
 * the agent would read plus the source messages that text came from:
 *
 * - Engram episode: `subject`, `summary` and `episode` text joined by newlines, sources = the
 *   episode's `message_ids`; then each nested atomic fact: its `content`, sources = its
 *   `message_ids`; unprocessed messages: their content, source = their id.
 * - Turn baseline: one part per turn; window baseline: one part per turn of the window.
 *
 * Words are runs of non-whitespace (`\S+`) of that text. Reading goes in rank order, part after
 * part, and stops at the budget, so the part that crosses it is cut. A source message is **read**
 * once the reader has passed the end of that message's text where the part quotes it verbatim (an
 * episode transcript quotes every message); where a part does not quote it (a fact, a summary),
 * the whole part must be read. An evidence turn is **found within B words** when it is read
 * within the first B words, and **found at k** when it is a source of any part of the first k
 * results (all their text, no budget). A question's recall is the share of its evidence turns
 * found; a category's is the mean over its questions.
 */

/** Text one part of a result shows the agent, and the messages it was made from. */
export interface ReturnedText {
  readonly text: string
  readonly message_ids: ReadonlyArray<string>
}

/** One ranked result, read part by part. */
export interface ReturnedResult {
  readonly parts: ReadonlyArray<ReturnedText>
}

/** The verbatim text of a source message, when the eval knows it. */
export type MessageTextLookup = (messageId: string) => string | undefined

export const countWords = (text: string): number => text.match(/\S+/g)?.length ?? 0

/**
 * For each source of `part`: how many of its words must be read to have read that source (the
 * end of its verbatim text, else the whole part).
 */
export const wordsToReadSources = (part: ReturnedText, lookup: MessageTextLookup): ReadonlyMap<string, number> => {
  const total = countWords(part.text)
  const needed = new Map<string, number>()
  for (const id of part.message_ids) {
    const quoted = lookup(id)?.trim() ?? ""
    const at = quoted.length === 0 ? -1 : part.text.indexOf(quoted)
    const words = at < 0 ? total : countWords(part.text.slice(0, at + quoted.length))
    needed.set(id, Math.min(words, needed.get(id) ?? Number.POSITIVE_INFINITY))
  }
  return needed
}

/** Where in a retrieval each evidence turn was first reached. */
export interface EvidenceReach {
  /** Words read (from the top, in rank order) when the turn is first read; Infinity if never. */
  readonly wordsToRead: number
  /** 1-based rank of the first result that has the turn among its sources; Infinity if none. */
  readonly rank: number
}

/** How each evidence turn is reached in `results`, plus the words of all returned text. */
export const reachEvidence = (
  evidence: ReadonlyArray<string>,
  results: ReadonlyArray<ReturnedResult>,
  lookup: MessageTextLookup
): { readonly reach: ReadonlyMap<string, EvidenceReach>; readonly wordsPerResult: ReadonlyArray<number> } => {
  const wanted = new Set(evidence)
  const reach = new Map<string, { wordsToRead: number; rank: number }>()
  for (const id of wanted) reach.set(id, { wordsToRead: Number.POSITIVE_INFINITY, rank: Number.POSITIVE_INFINITY })
  const wordsPerResult: Array<number> = []
  let wordsBefore = 0
  results.forEach((result, index) => {
    let resultWords = 0
    for (const part of result.parts) {
      const relevant = part.message_ids.some((id) => wanted.has(id))
      if (relevant) {
        for (const [id, words] of wordsToReadSources(part, lookup)) {
          const entry = reach.get(id)
          if (entry === undefined) continue
          entry.rank = Math.min(entry.rank, index + 1)
          entry.wordsToRead = Math.min(entry.wordsToRead, wordsBefore + words)
        }
      }
      const words = countWords(part.text)
      wordsBefore += words
      resultWords += words
    }
    wordsPerResult.push(resultWords)
  })
  return { reach, wordsPerResult }
}

export interface QuestionScore {
  /** Share of evidence found within each word budget, keyed by the budget. */
  readonly recallAtWords: Readonly<Record<number, number>>
  /** Share of evidence among the sources of the first k results, keyed by k. */
  readonly recallAtK: Readonly<Record<number, number>>
  /** Words of all text of the first k results, keyed by k. */
  readonly wordsAtK: Readonly<Record<number, number>>
  /** Words of everything returned. */
  readonly wordsReturned: number
  readonly results: number
  /** Per evidence turn: words read until it was read (null: never). */
  readonly wordsToEvidence: Readonly<Record<string, number | null>>
}

export interface ScoreSettings {
  readonly budgets: ReadonlyArray<number>
  readonly ks: ReadonlyArray<number>
}

const share = (hits: number, total: number) => (total === 0 ? 0 : hits / total)

/** Scores one retrieval for one question; `evidence` must not be empty. */
export const scoreQuestion = (
  evidence: ReadonlyArray<string>,
  results: ReadonlyArray<ReturnedResult>,
  lookup: MessageTextLookup,
  settings: ScoreSettings
): QuestionScore => {
  const { reach, wordsPerResult } = reachEvidence(evidence, results, lookup)
  const entries = Array.from(reach.values())
  const recallAtWords: Record<number, number> = {}
  for (const budget of settings.budgets) {
    recallAtWords[budget] = share(entries.filter((e) => e.wordsToRead <= budget).length, entries.length)
  }
  const recallAtK: Record<number, number> = {}
  const wordsAtK: Record<number, number> = {}
  for (const k of settings.ks) {
    recallAtK[k] = share(entries.filter((e) => e.rank <= k).length, entries.length)
    wordsAtK[k] = wordsPerResult.slice(0, k).reduce((sum, n) => sum + n, 0)
  }
  const wordsToEvidence: Record<string, number | null> = {}
  for (const [id, entry] of reach) wordsToEvidence[id] = Number.isFinite(entry.wordsToRead) ? entry.wordsToRead : null
  return {
    recallAtWords,
    recallAtK,
    wordsAtK,
    wordsReturned: wordsPerResult.reduce((sum, n) => sum + n, 0),
    results: results.length,
    wordsToEvidence
  }
}
