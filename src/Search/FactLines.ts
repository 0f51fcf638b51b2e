/**
 * Atomic facts as lines of the packed context. A fact made from a few messages restates them in
 * a dozen words, where the window that shows one of them verbatim spends sixty on it and its
 * neighbours: for questions whose evidence is spread over many sessions, facts fit more of it in
 * the budget. Each matching fact of the chosen episodes is scored the way windows are, and on
 * their scale: its bm25 as a share of the best window's or fact's, plus `passageVectorWeight`
 * times its cosine to the query rescaled to [0, 1] over the range of the windows' and the fact
 * neighbours' cosines, times `factLineWeight`, so the packing can rank facts and windows together;
 * plus `factEpisodeWeight` times its episode's standing among the chosen ones (a short fact's own
 * words and meaning say less than the episode it belongs to does).
 * (On a scale of their own, facts that match weakly, e.g. only by a name, scored like the window
 * that answers the question and came before it.) Facts of more than `FACT_LINE_MAX_SOURCES`
 * messages are summaries of a stretch of conversation, not restatements of lines, and stay out.
 */
import { lineDay } from "../Indexing/PassageIndex.js"
import { rescaleToUnit, type ValueRange } from "./Fusion.js"
import { bm25Of } from "./KeywordCandidates.js"
import type { FactRecord, Hit } from "./SearchRepo.js"
import { SEARCH_TUNING } from "./SearchTuning.js"

/** Sources a fact may have and still be shown as a context line. */
export const FACT_LINE_MAX_SOURCES = 3

/** A fact as a context line: `[date] content`, the messages it was made from, its score. */
export interface FactLine {
  readonly text: string
  readonly message_ids: ReadonlyArray<string>
  readonly score: number
}

/** Each hit's bm25 as a share of the best one's or of `atLeast`, whichever is higher (0 when none has one). */
const bm25Shares = (hits: ReadonlyArray<Hit>, atLeast: number): ReadonlyMap<string, number> => {
  const values = hits.map(bm25Of)
  const best = Math.max(0, atLeast, ...values)
  return new Map(hits.map((hit, i) => [hit.id, best > 0 ? values[i]! / best : 0]))
}

/** Each hit's cosine rescaled to [0, 1] over the hits' range widened to hold `within`. */
const similarityShares = (hits: ReadonlyArray<Hit>, within: ValueRange | undefined): ReadonlyMap<string, number> => {
  const shares = rescaleToUnit(hits.map((hit) => hit.similarity ?? 0), within)
  return new Map(hits.map((hit, i) => [hit.id, shares[i]!]))
}

/** The scale of the windows ranked beside the facts: their best bm25, the range of their cosines. */
export interface WindowScale {
  readonly bestBm25: number
  readonly cosines: ValueRange | undefined
}

/** The context lines of `facts` (read for the chosen episodes), best first; pure. */
export const factLines = (
  facts: ReadonlyArray<FactRecord>,
  keywordFacts: ReadonlyArray<Hit>,
  vectorFacts: ReadonlyArray<Hit>,
  windows: WindowScale,
  episodeStanding: ReadonlyMap<string, number>
): ReadonlyArray<FactLine> => {
  if (SEARCH_TUNING.factLineWeight <= 0) return []
  const words = bm25Shares(keywordFacts, windows.bestBm25)
  const meaning = similarityShares(vectorFacts, windows.cosines)
  return facts
    .filter((fact) => fact.message_ids.length > 0 && fact.message_ids.length <= FACT_LINE_MAX_SOURCES)
    .map((fact) => ({
      text: `[${lineDay(fact.timestamp)}] ${fact.content.replace(/\s+/g, " ").trim()}`,
      message_ids: fact.message_ids,
      score: SEARCH_TUNING.factLineWeight *
          ((words.get(fact.fact_id) ?? 0) + SEARCH_TUNING.passageVectorWeight * (meaning.get(fact.fact_id) ?? 0)) +
        SEARCH_TUNING.factEpisodeWeight * (episodeStanding.get(fact.episode_id) ?? 0)
    }))
    .sort((a, b) => b.score - a.score)
}
