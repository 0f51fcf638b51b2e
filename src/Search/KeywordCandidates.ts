/**
 * Keyword candidates: bm25 over the English (porter) and CJK (trigram) indexes of episodes and
 * facts, CJK substrings too short for trigrams, and the message windows (passages) of the passage
 * index, re-ranked by their episode's match.
 */
import { Effect } from "effect"
import type { FilterTree } from "../Domain/Filters.js"
import type { VectorKind } from "../Indexing/VectorStore.js"
import { yieldToEventLoop } from "../Observability/EventLoop.js"
import type { Lexicon } from "../Text/Lexicon.js"
import { type Candidates, noCandidates, noPassages } from "./Candidates.js"
import { fusedOrder } from "./Fusion.js"
import { affordableWords, type KeywordTerms, keywordTerms, ownerIsIndexable } from "./KeywordQuery.js"
import type { Hit, OwnerScope, PassageHit, SearchRepo } from "./SearchRepo.js"
import {
  BIG_OWNER_ITEMS,
  COMMON_WORD_ROWS,
  KEYWORD_POSTINGS_BUDGET,
  PASSAGE_POSTINGS_BUDGET,
  passageDepth,
  SEARCH_TUNING
} from "./SearchTuning.js"

/** A keyword hit's bm25 as a positive value (higher is better); 0 for a hit without one (fused CJK lists). */
export const bm25Of = (hit: Hit): number => ("rank" in hit && typeof hit.rank === "number" ? -hit.rank : 0)

/**
 * Each keyword-matched episode's bm25 as a share of the best one's (without bm25 values, fused
 * CJK lists, by list position): how much the episode is about the query.
 */
export const episodeContextOf = (episodes: ReadonlyArray<Hit>): ReadonlyMap<string, number> => {
  const episodeRanks = episodes.map(bm25Of)
  const bestEpisode = Math.max(0, ...episodeRanks)
  return new Map(episodes.map((hit, i) => [
    hit.episode_id,
    bestEpisode > 0 ? episodeRanks[i]! / bestEpisode : 1 - i / episodes.length
  ]))
}

/** The best bm25 (as a positive value) of some bm25-ranked passages; 0 when none has one. */
const bestBm25 = (passages: ReadonlyArray<PassageHit>): number => passages.reduce((best, p) => Math.max(best, -p.rank), 0)

/**
 * Re-ranks passages by their bm25 as a share of `bestPassage` (the best of them) plus
 * `episodeContext` times their episode's (a window quoting one word of the question ranks higher
 * inside an episode about the question). `rank` becomes that score, negated (lower is better, like bm25).
 */
const withEpisodeContext = (
  passages: ReadonlyArray<PassageHit>,
  episodes: ReadonlyArray<Hit>,
  bestPassage: number
): ReadonlyArray<PassageHit> => {
  if (passages.length === 0) return passages
  const context = episodeContextOf(episodes)
  return passages
    .map((p) => ({
      ...p,
      rank: -((bestPassage > 0 ? -p.rank / bestPassage : 0) + SEARCH_TUNING.episodeContext * (context.get(p.episode_id) ?? 0))
    }))
    .sort((a, b) => a.rank - b.rank)
}

export const makeKeywordCandidates = (repo: SearchRepo, lexicon: Lexicon) => {
  const isContentWord = (word: string) => lexicon.terms(word).length > 0

  /**
   * A big owner's words to rank by: the rarest ones within the postings budget (counts are
   * capped, so cheap). `common` when even the rarest word matches `commonRows` rows or more.
   */
  const affordable = (
    index: VectorKind | "passage",
    words: ReadonlyArray<string>,
    commonRows = COMMON_WORD_ROWS,
    budget = KEYWORD_POSTINGS_BUDGET
  ) =>
    Effect.gen(function*() {
      const counts = yield* repo.matchCounts(index, words, commonRows)
      // A capped count is a lower bound: such a word is kept only if it is the rarest there is.
      const countOf = new Map(words.map((word, i) => [word, counts[i]! >= commonRows ? Number.MAX_SAFE_INTEGER : counts[i]!]))
      const kept = affordableWords(words, (word) => countOf.get(word)!, budget)
      return { words: kept, common: countOf.get(kept[0]!)! === Number.MAX_SAFE_INTEGER }
    })

  const keywordList = (
    kind: VectorKind,
    terms: KeywordTerms,
    scope: OwnerScope,
    big: boolean,
    filters: FilterTree | undefined,
    depth: number
  ) =>
    Effect.gen(function*() {
      const lists: Array<ReadonlyArray<Hit>> = []
      if (terms.words.length > 0) {
        const chosen = big ? yield* affordable(kind, terms.words) : { words: terms.words, common: false }
        lists.push(yield* repo.keywordHits({
          kind,
          index: "porter",
          tokens: chosen.words,
          narrowToOwner: !big,
          candidates: chosen.common
            // Only words found nearly everywhere: they rank nothing, so the newest matches.
            ? { _tag: "recent", n: depth * 4 + 20 }
            : big
            // Rank at most the newest budget's worth of matches.
            ? { _tag: "newest", scan: KEYWORD_POSTINGS_BUDGET, n: depth * 4 + 20 }
            : filters === undefined && ownerIsIndexable(scope.owner)
            // The owner phrase already narrows FTS to (nearly only) this owner's rows.
            ? { _tag: "best", n: depth * 2 + 20 }
            : { _tag: "all" },
          limit: depth
        }, scope, filters))
      }
      if (terms.trigrams.length > 0) {
        lists.push(
          yield* repo.keywordHits({
            kind,
            index: "cjk",
            tokens: terms.trigrams,
            narrowToOwner: false,
            candidates: big ? { _tag: "newest", scan: KEYWORD_POSTINGS_BUDGET, n: depth * 4 + 20 } : { _tag: "all" },
            limit: depth
          }, scope, filters)
        )
      }
      if (terms.shortCjk.length > 0) lists.push(yield* repo.substringHits(kind, terms.shortCjk, scope, filters, depth))
      if (lists.length <= 1) return lists[0] ?? []
      const byId = new Map(lists.flat().map((hit) => [hit.id, hit]))
      return fusedOrder(lists.map((list) => list.map((hit) => hit.id))).slice(0, depth).map((id) => byId.get(id)!)
    })

  /**
   * A big owner's windows: bm25 over the newest matches of its affordable words (as for episodes);
   * when those leave the list short, the newest windows of the words too common to rank by follow,
   * unranked. bm25 of a word found in most windows costs a walk of its whole doclist (its IDF) and
   * ranks next to nothing (FTS5 floors an IDF at or below zero to 1e-6).
   */
  const bigOwnerPassages = (words: ReadonlyArray<string>, scope: OwnerScope, filters: FilterTree | undefined, depth: number) =>
    Effect.gen(function*() {
      const limit = passageDepth(depth)
      const chosen = yield* affordable("passage", words, PASSAGE_POSTINGS_BUDGET, PASSAGE_POSTINGS_BUDGET)
      const ranked = chosen.common
        ? noPassages
        : yield* repo.passageHits(chosen.words, false, { _tag: "newest", scan: PASSAGE_POSTINGS_BUDGET, n: limit * 2 }, scope, filters, limit)
      const common = chosen.common ? words : words.filter((word) => !chosen.words.includes(word))
      if (ranked.length >= limit || common.length === 0) return ranked
      const rankedKeys = new Set(ranked.map((p) => p.passage_key))
      const recent = yield* repo.passageHits(common, false, { _tag: "recent", n: limit }, scope, filters, limit)
      return [...ranked, ...recent.filter((p) => !rankedKeys.has(p.passage_key))].slice(0, limit)
    })

  /** The owner's best message windows by bm25 (English index only; CJK queries have none). */
  const passageList = (terms: KeywordTerms, scope: OwnerScope, big: boolean, filters: FilterTree | undefined, depth: number) =>
    terms.words.length === 0
      ? Effect.succeed(noPassages)
      : big
      ? bigOwnerPassages(terms.words, scope, filters, depth)
      : repo.passageHits(
        terms.words,
        true,
        filters === undefined && ownerIsIndexable(scope.owner) ? { _tag: "best", n: passageDepth(depth) * 2 + 20 } : { _tag: "all" },
        scope,
        filters,
        passageDepth(depth)
      )

  /** Every keyword list of one query, `depth` deep (passages deeper, see `passageDepth`). */
  const keywordCandidates = (query: string, scope: OwnerScope, filters: FilterTree | undefined, depth: number) =>
    Effect.gen(function*() {
      const terms = keywordTerms(query, isContentWord)
      if (terms.words.length + terms.trigrams.length + terms.shortCjk.length === 0) return noCandidates
      const sizes = yield* repo.ownerSizes(scope, BIG_OWNER_ITEMS)
      const big = sizes.episode > BIG_OWNER_ITEMS
      // A turn of the event loop between lists: what a hybrid search's vector side awaits (the
      // query's embedding) gets in, so its reads start on their threads while these run.
      const lists = yield* Effect.all({
        episodes: keywordList("episode", terms, scope, big, filters, depth),
        facts: Effect.zipRight(yieldToEventLoop, keywordList("fact", terms, scope, sizes.fact > BIG_OWNER_ITEMS, filters, depth)),
        passages: Effect.zipRight(yieldToEventLoop, passageList(terms, scope, big, filters, depth))
      })
      const passageBm25Best = bestBm25(lists.passages)
      const candidates: Candidates = {
        ...lists,
        passages: withEpisodeContext(lists.passages, lists.episodes, passageBm25Best),
        passageBm25Best
      }
      return candidates
    })

  return { keywordCandidates } as const
}
