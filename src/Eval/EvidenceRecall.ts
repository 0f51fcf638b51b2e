/**
 * # Evidence recall, by what the agent actually reads
 *
 * The eval's metric, computed without any LLM: of the turns a question's answer rests on (its
 * evidence), what share did the retriever put in front of the agent, within a word budget?
 *
 * A retriever answers with ranked **results** (an Engram episode, a turn, a window), each read as
 * one or more **parts**: exactly the text the agent would read, the source messages that text was
 * made from, and whether it is an atomic fact.
 *
 * The reader goes in rank order, part after part, counting the words (runs of non-whitespace) of
 * all text shown (subject, summary, excerpt, facts, context lines), and stops at the budget B, so
 * the part that crosses it is cut. An evidence turn is **found within B words** when, within those
 * first B words:
 *
 * - (a) **verbatim**: its text appears in a part (case and whitespace normalised, on word
 *   boundaries), ending within the budget (a turn cut off by the budget does not count); or
 * - (b) **faithful rewrite**: a part whose sources include the turn, read whole within the budget,
 *   shows at least `REWRITE_SHARE` of the turn's distinct content words (stop words removed,
 *   stemmed: the `terms` the eval is given), e.g. a third-person fact; or
 * - (c) **small fact**: an atomic fact whose sources are at most `SMALL_FACT_SOURCES` messages,
 *   the turn among them, is read whole within the budget.
 *
 * A part cut by the budget gives no rewrite or fact credit (as a cut turn gives no verbatim
 * credit), so the part's whole text counts before it can stand for a turn.
 *
 * Nothing else gives credit: a subject, title or summary never stands for the messages it
 * summarises unless (b) holds for it. A question's recall is the share of its evidence turns
 * found; a category's is the mean over its questions. "Found anywhere" is the same rule with no
 * budget (everything returned is read).
 */

/** Text one part of a result shows the agent, and the messages it was made from. */
export interface ReturnedText {
  readonly text: string
  readonly message_ids: ReadonlyArray<string>
  /** `fact`: an atomic fact (rule c); `text`: anything else (a turn, an excerpt, a summary). */
  readonly kind: "text" | "fact"
}

/** One ranked result, read part by part. */
export interface ReturnedResult {
  readonly parts: ReadonlyArray<ReturnedText>
}

/** What the reader knows about the conversation: each turn's text, and how to find content words. */
export interface EvidenceTexts {
  /** The verbatim text of a turn (as ingested), when the eval knows it. */
  readonly text: (messageId: string) => string | undefined
  /** Content words of a text: stop words removed, stemmed (`Lexicon.terms`). */
  readonly terms: (text: string) => ReadonlyArray<string>
}

/** Share of a turn's content words a part built from it must show to count as a faithful rewrite. */
export const REWRITE_SHARE = 0.6
/** A fact made from at most this many messages stands for each of them. */
export const SMALL_FACT_SOURCES = 3

export type CreditRule = "verbatim" | "rewrite" | "fact"

export const countWords = (text: string): number => text.match(/\S+/g)?.length ?? 0

/** Lowercased, whitespace runs collapsed to one space, trimmed. */
export const normalizeText = (text: string): string => text.toLowerCase().replace(/\s+/g, " ").trim()

const WORD_CHAR = /[\p{L}\p{N}]/u

/**
 * Words of `part` (normalised) read when `turn` (normalised) has been read verbatim: the end of
 * its first occurrence on word boundaries; undefined when it does not occur.
 */
export const verbatimEnd = (part: string, turn: string): number | undefined => {
  if (turn.length === 0) return undefined
  const needsStart = WORD_CHAR.test(turn[0]!)
  const needsEnd = WORD_CHAR.test(turn[turn.length - 1]!)
  for (let at = part.indexOf(turn); at >= 0; at = part.indexOf(turn, at + 1)) {
    const end = at + turn.length
    if (needsStart && at > 0 && WORD_CHAR.test(part[at - 1]!)) continue
    if (needsEnd && end < part.length && WORD_CHAR.test(part[end]!)) continue
    return countWords(part.slice(0, end))
  }
  return undefined
}

/**
 * Whether `words` show at least `REWRITE_SHARE` of `turnTerms` (distinct; never for a turn without
 * content words). `termsOf` gives the content words of one word.
 */
export const isRewrite = (
  words: ReadonlyArray<string>,
  turnTerms: ReadonlySet<string>,
  termsOf: (word: string) => ReadonlyArray<string>
): boolean => {
  if (turnTerms.size === 0) return false
  const needed = Math.ceil(REWRITE_SHARE * turnTerms.size - 1e-9)
  const seen = new Set<string>()
  for (const word of words) {
    for (const term of termsOf(word)) if (turnTerms.has(term)) seen.add(term)
    if (seen.size >= needed) return true
  }
  return false
}

/** Where in a retrieval one evidence turn was first found, by rule (words read; Infinity: never). */
export type EvidenceReach = Readonly<Record<CreditRule, number>>

/** How each evidence turn is reached in `results`, plus the words of each result. */
export const reachEvidence = (
  evidence: ReadonlyArray<string>,
  results: ReadonlyArray<ReturnedResult>,
  texts: EvidenceTexts
): { readonly reach: ReadonlyMap<string, EvidenceReach>; readonly wordsPerResult: ReadonlyArray<number> } => {
  const turns = Array.from(new Set(evidence)).map((id) => {
    const text = texts.text(id) ?? ""
    return { id, verbatim: normalizeText(text), terms: new Set(texts.terms(text)) }
  })
  const reach = new Map<string, { verbatim: number; rewrite: number; fact: number }>()
  for (const turn of turns) {
    reach.set(turn.id, { verbatim: Number.POSITIVE_INFINITY, rewrite: Number.POSITIVE_INFINITY, fact: Number.POSITIVE_INFINITY })
  }
  const wordTerms = new Map<string, ReadonlyArray<string>>()
  const termsOf = (word: string) => {
    let found = wordTerms.get(word)
    if (found === undefined) wordTerms.set(word, found = texts.terms(word))
    return found
  }
  const wordsPerResult: Array<number> = []
  let before = 0
  for (const result of results) {
    let resultWords = 0
    for (const part of result.parts) {
      const words = part.text.match(/\S+/g) ?? []
      const normalized = words.join(" ").toLowerCase()
      for (const turn of turns) {
        const entry = reach.get(turn.id)!
        const quoted = verbatimEnd(normalized, turn.verbatim)
        if (quoted !== undefined) entry.verbatim = Math.min(entry.verbatim, before + quoted)
        if (!part.message_ids.includes(turn.id)) continue
        // Rewrite and fact credit need the whole part: one cut by the budget stands for nothing.
        if (isRewrite(words, turn.terms, termsOf)) entry.rewrite = Math.min(entry.rewrite, before + words.length)
        if (part.kind === "fact" && part.message_ids.length <= SMALL_FACT_SOURCES) {
          entry.fact = Math.min(entry.fact, before + words.length)
        }
      }
      before += words.length
      resultWords += words.length
    }
    wordsPerResult.push(resultWords)
  }
  return { reach, wordsPerResult }
}

const firstReach = (reach: EvidenceReach, rules: ReadonlyArray<CreditRule>) => Math.min(...rules.map((rule) => reach[rule]))

export const ALL_RULES: ReadonlyArray<CreditRule> = ["verbatim", "rewrite", "fact"]
/** The strict variant: the turn shown verbatim, or a small fact (no rewrite credit). */
export const STRICT_RULES: ReadonlyArray<CreditRule> = ["verbatim", "fact"]

export interface QuestionScore {
  /** Share of evidence found within each word budget (all rules), keyed by the budget. */
  readonly recallAtWords: Readonly<Record<number, number>>
  /** The same without rule (b): verbatim or a small fact only. */
  readonly strictRecallAtWords: Readonly<Record<number, number>>
  /** Share of evidence found anywhere in what was returned (all rules, no budget). */
  readonly recallReturned: number
  /** Words of everything returned. */
  readonly wordsReturned: number
  readonly results: number
  /** Per evidence turn: words read until it was found, and by which rule (null: never). */
  readonly wordsToEvidence: Readonly<Record<string, { readonly words: number; readonly rule: CreditRule } | null>>
}

export interface ScoreSettings {
  readonly budgets: ReadonlyArray<number>
}

const share = (hits: number, total: number) => (total === 0 ? 0 : hits / total)

/** Scores one retrieval for one question; `evidence` must not be empty. */
export const scoreQuestion = (
  evidence: ReadonlyArray<string>,
  results: ReadonlyArray<ReturnedResult>,
  texts: EvidenceTexts,
  settings: ScoreSettings
): QuestionScore => {
  const { reach, wordsPerResult } = reachEvidence(evidence, results, texts)
  const entries = Array.from(reach.values())
  const within = (rules: ReadonlyArray<CreditRule>) => {
    const recall: Record<number, number> = {}
    for (const budget of settings.budgets) {
      recall[budget] = share(entries.filter((e) => firstReach(e, rules) <= budget).length, entries.length)
    }
    return recall
  }
  const wordsToEvidence: Record<string, { words: number; rule: CreditRule } | null> = {}
  for (const [id, entry] of reach) {
    const words = firstReach(entry, ALL_RULES)
    wordsToEvidence[id] = Number.isFinite(words) ? { words, rule: ALL_RULES.find((rule) => entry[rule] === words)! } : null
  }
  return {
    recallAtWords: within(ALL_RULES),
    strictRecallAtWords: within(STRICT_RULES),
    recallReturned: share(entries.filter((e) => Number.isFinite(firstReach(e, ALL_RULES))).length, entries.length),
    wordsReturned: wordsPerResult.reduce((sum, n) => sum + n, 0),
    results: results.length,
    wordsToEvidence
  }
}
