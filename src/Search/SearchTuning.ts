/**
 * How search ranks and cuts, and how deep it reads each index (read at search time; tuned on
 * LoCoMo conversations 1-5 with the offline extractors, see the eval in the README). Treat as constant.
 */
import type { NeighbourRule } from "./Evidence.js"

/** Candidates taken from each ranked list: enough that fusion can promote items ranked low in one list. */
export const candidateDepth = (topK: number) => (topK === -1 ? 1000 : Math.min(500, Math.max(50, topK * 5)))

/** Vector neighbours taken per list: fusion needs the head of the ranking, and vec0's cost grows with k. */
export const vectorDepth = (topK: number) => (topK === -1 ? 200 : Math.min(200, Math.max(20, topK * 2)))

/** Passage candidates per search: windows are many per episode, so deeper than episode lists. */
export const passageDepth = (depth: number) => Math.min(2000, depth * 8)

/** Vector candidates are filtered after the nearest-neighbour scan, so filtered searches look further. */
export const FILTERED_OVERSAMPLING = 4

/**
 * Owners with more items of a kind than this are "big": bm25 costs time per matching row, so a
 * big owner's search ranks by its rarest words only (see `affordableWords`), and skips the owner
 * phrase in the FTS expression (intersecting with a huge owner doclist costs more than it saves).
 */
export const BIG_OWNER_ITEMS = 2000
/** Rows a big owner's English-index lookup may rank: matches of the kept words, summed. */
export const KEYWORD_POSTINGS_BUDGET = 1500
/** A word matching at least this many rows counts as too common to rank a big owner's search by. */
export const COMMON_WORD_ROWS = 1000
/**
 * The passage index's budget (windows are several per episode): the newest matches a big owner's
 * window lookup ranks, and the postings its kept words may have, summed; a word matching this
 * many windows or more is too common to rank them by.
 */
export const PASSAGE_POSTINGS_BUDGET = KEYWORD_POSTINGS_BUDGET * 4

/**
 * - list weights: passages are the strongest signal (a short window that matches says more than
 *   a long transcript or a paraphrased fact); facts at full weight pushed good episodes down
 *   (top-1 0.46 vs 0.58 without them), so they only break ties.
 * - `episodeContext`: share of its episode's normalised bm25 a passage's score gets, so a window
 *   quoting one word of the question ranks higher inside an episode about the question.
 * - `excerptPassages` / `excerptMinRelative`: windows shown per episode at most, and how close to
 *   the episode's best window score another one must be to be shown too.
 * - `contextRadius` / `excerptNeighbours` / `contextNeighbours`: the window read around each ranked
 *   passage, and which of its lines an excerpt and the context show (see `Evidence.windowPositions`).
 * - `contextWindows`: ranked windows considered at most for excerpts and the context.
 * - `contextEpisodeWeight`: share of its episode's fused score added to a window's score.
 * - `factWindowWeight`: share of a matching fact's fused score added to the windows of its sources.
 * - `passageVectorWeight`: weight of a window's meaning (its vector's cosine to the query, rescaled
 *   to [0, 1] over the chosen episodes' windows) beside its words (normalised bm25, at most 1).
 * - `factLineWeight`: weight of a matching fact of few sources as a line of the packed context (see
 *   `FactLines`), against the windows' scores; 0 keeps facts out of the context.
 * - `factEpisodeWeight`: what a fact line gets for its episode's standing among the chosen ones
 *   (fused score rescaled to [0, 1] over them); windows get none (their passage score already
 *   holds their episode's words, and more lowered recall).
 * - `nestedFacts` / `dropQuotedFacts`: facts nested per episode at most (best first), leaving out
 *   those whose source lines the excerpt already quotes (restatements cost words, add nothing).
 * - `dateWeight` / `dateWindowWeight`: when the query names a day or month (`QueryDates`), the
 *   weight of the list of the owner's episodes of those dates in the fusion (counted in the total
 *   only for such queries), and what a window of one of them adds to its score.
 */
export const SEARCH_TUNING = {
  passageWeight: 1,
  episodeWeight: 0.5,
  factWeight: 0.1,
  episodeContext: 0.4,
  excerptPassages: 3,
  excerptMinRelative: 0.5,
  contextRadius: 1,
  excerptNeighbours: "question-answer" as NeighbourRule,
  contextNeighbours: "all" as NeighbourRule,
  contextWindows: 400,
  contextEpisodeWeight: 0,
  factWindowWeight: 0,
  passageVectorWeight: 1,
  factLineWeight: 1.6,
  factEpisodeWeight: 0.4,
  nestedFacts: 2,
  dropQuotedFacts: true,
  dateWeight: 0.5,
  dateWindowWeight: 0.5
}
