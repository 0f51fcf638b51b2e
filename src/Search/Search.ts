import { Effect, Either, Option } from "effect"
import { CapabilityUnavailable, type StorageError } from "../Domain/Errors.js"
import { type FilterTree, pinnedSession, toFilterTree } from "../Domain/Filters.js"
import {
  type ContextLine,
  type RanSearchMethod,
  type SearchEpisode,
  type SearchRequest,
  type SearchResult,
  TOP_K_ALL_CAP,
  type UnprocessedMessage
} from "../Domain/SearchRequest.js"
import { Embedder, EmbedderUnavailable } from "../Llm/Embedder.js"
import { type BufferedMessage, type Hit, type OwnerScope, type PassageHit, SearchRepo } from "./SearchRepo.js"
import { type VectorKind, vectorOwner, VectorStore, vectorStateHint } from "../Indexing/VectorStore.js"
import { Lexicon } from "../Text/Lexicon.js"
import { TokenCounter } from "../Text/TokenCounter.js"
import { collectEvidence, type EvidenceSpan, evidenceSpans, type LineSource, type NeighbourRule, type RankedWindow, windowPositions } from "./Evidence.js"
import { fusedOrder, normalizedFusion, weightedFusion } from "./Fusion.js"
import { affordableWords, type KeywordTerms, keywordTerms, ownerIsIndexable, porterMatch, trigramMatch } from "./KeywordQuery.js"
import { episodeView } from "../Extraction/DerivedRows.js"
import { TrackSearch } from "./TrackSearch.js"

export type SearchError = CapabilityUnavailable | EmbedderUnavailable | StorageError

/** Candidates taken from each ranked list: enough that fusion can promote items ranked low in one list. */
export const candidateDepth = (topK: number) => (topK === -1 ? 1000 : Math.min(500, Math.max(50, topK * 5)))

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

/** Vector neighbours taken per list: fusion needs the head of the ranking, and vec0's cost grows with k. */
export const vectorDepth = (topK: number) => (topK === -1 ? 200 : Math.min(200, Math.max(20, topK * 2)))

/** Vector candidates are filtered after the nearest-neighbour scan, so filtered searches look further. */
const FILTERED_OVERSAMPLING = 4

const TEXT_COLUMNS: Readonly<Record<VectorKind, ReadonlyArray<string>>> = {
  episode: ["subject", "summary", "content"],
  fact: ["content"]
}

interface Candidates {
  readonly episodes: ReadonlyArray<Hit>
  readonly facts: ReadonlyArray<Hit>
  /** Message windows, best first by their own bm25 plus their episode's (keyword only). */
  readonly passages: ReadonlyArray<PassageHit>
}

const noCandidates: Candidates = { episodes: [], facts: [], passages: [] }

/**
 * How results are ranked and cut (read at search time; tuned on LoCoMo with the offline
 * extractors, see the eval in the README). Treat as constant.
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
 * - `nestedFacts` / `dropQuotedFacts`: facts nested per episode at most (best first), leaving out
 *   those whose source lines the excerpt already quotes (restatements cost words, add nothing).
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
  nestedFacts: 2,
  dropQuotedFacts: true
}

/** An episode's excerpt and the messages it quotes. */
interface Excerpt {
  readonly text: string
  readonly quoted: ReadonlySet<string>
}

/** Passage candidates per search: windows are many per episode, so deeper than episode lists. */
const passageDepth = (depth: number) => Math.min(2000, depth * 8)

const NO_EMBEDDER_HINT =
  "no embedder: ENGRAM_EMBEDDER is off (unset it for the local model, or set ENGRAM_EMBED_BASE_URL, ENGRAM_EMBED_MODEL and ENGRAM_EMBED_DIMENSIONS for an endpoint), or use method keyword"

/**
 * Search over a user's episodes and atomic facts: keyword (FTS5 bm25, English stemming and CJK
 * trigrams), vector (sqlite-vec cosine) or hybrid, fused by reciprocal rank. Facts are searched
 * in their own right and nest under their episode; an episode's score counts its best facts, and
 * a fact hit brings its episode even when the episode itself did not match. Buffered messages
 * (no memcell yet) that match the query come back as `unprocessed_messages`.
 *
 * Scores are fused reciprocal ranks scaled to (0, 1] (1: first in every list the method runs:
 * keyword 2 lists, vector 2, hybrid 4), comparable across queries of one method.
 */
export class Search extends Effect.Service<Search>()("engram/Search", {
  effect: Effect.gen(function*() {
    const repo = yield* SearchRepo
    const vectors = yield* VectorStore
    const lexicon = yield* Lexicon
    const trackSearch = yield* TrackSearch
    const tokens = yield* TokenCounter
    // Optional: without an embedder only keyword search runs.
    const embedder = yield* Effect.serviceOption(Embedder)

    const isContentWord = (word: string) => lexicon.terms(word).length > 0

    /**
     * A big owner's words to rank by: the rarest ones within the postings budget (counts are
     * capped, so cheap). `common` when even the rarest word matches COMMON_WORD_ROWS rows or more.
     */
    const affordable = (kind: VectorKind, words: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const counts = yield* repo.matchCounts(kind, words.map((word) => porterMatch([word], TEXT_COLUMNS[kind])), COMMON_WORD_ROWS)
        // A capped count is a lower bound: such a word is kept only if it is the rarest there is.
        const countOf = new Map(words.map((word, i) => [word, counts[i]! >= COMMON_WORD_ROWS ? Number.MAX_SAFE_INTEGER : counts[i]!]))
        const kept = affordableWords(words, (word) => countOf.get(word)!, KEYWORD_POSTINGS_BUDGET)
        return { words: kept, common: countOf.get(kept[0]!)! === Number.MAX_SAFE_INTEGER }
      })

    /** The embedder when vectors can be used now, else why not. */
    const vectorReadiness = Effect.gen(function*() {
      if (Option.isNone(embedder)) return Either.left(NO_EMBEDDER_HINT)
      const wanted = { model: embedder.value.model, dimensions: embedder.value.dimensions }
      const state = yield* vectors.state(wanted)
      return state._tag === "Ready" ? Either.right(embedder.value) : Either.left(vectorStateHint(state, wanted))
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
            match: porterMatch(chosen.words, TEXT_COLUMNS[kind], big ? undefined : scope.owner),
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
              match: trigramMatch(terms.trigrams),
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

    const keywordCandidates = (query: string, scope: OwnerScope, filters: FilterTree | undefined, depth: number) =>
      Effect.gen(function*() {
        const terms = keywordTerms(query, isContentWord)
        if (terms.words.length + terms.trigrams.length + terms.shortCjk.length === 0) return noCandidates
        const sizes = yield* repo.ownerSizes(scope, BIG_OWNER_ITEMS)
        const big = sizes.episode > BIG_OWNER_ITEMS
        const lists = yield* Effect.all({
          episodes: keywordList("episode", terms, scope, big, filters, depth),
          facts: keywordList("fact", terms, scope, sizes.fact > BIG_OWNER_ITEMS, filters, depth),
          passages: passageList(terms, scope, big, filters, depth)
        })
        return { ...lists, passages: withEpisodeContext(lists.passages, lists.episodes) }
      })

    /** The owner's best message windows by bm25 (English index only; CJK queries have none). */
    const passageList = (terms: KeywordTerms, scope: OwnerScope, big: boolean, filters: FilterTree | undefined, depth: number) =>
      terms.words.length === 0
        ? Effect.succeed([] as ReadonlyArray<PassageHit>)
        : repo.passageHits(
          porterMatch(terms.words, ["content"], big ? undefined : scope.owner),
          big
            ? { _tag: "newest", scan: KEYWORD_POSTINGS_BUDGET * 4, n: passageDepth(depth) * 2 }
            : filters === undefined && ownerIsIndexable(scope.owner)
            ? { _tag: "best", n: passageDepth(depth) * 2 + 20 }
            : { _tag: "all" },
          scope,
          filters,
          passageDepth(depth)
        )

    /**
     * Re-ranks passages by their normalised bm25 plus `episodeContext` times their
     * episode's (a window quoting one word of the question ranks higher inside an episode about
     * the question). `rank` becomes that score, negated (lower is better, like bm25).
     */
    const withEpisodeContext = (passages: ReadonlyArray<PassageHit>, episodes: ReadonlyArray<Hit>) => {
      if (passages.length === 0) return passages
      const episodeRanks = episodes.map((hit) => ("rank" in hit && typeof hit.rank === "number" ? -hit.rank : 0))
      const bestEpisode = Math.max(0, ...episodeRanks)
      const context = new Map(episodes.map((hit, i) => [
        hit.episode_id,
        // Without bm25 values (fused CJK lists) fall back to list position.
        bestEpisode > 0 ? episodeRanks[i]! / bestEpisode : 1 - i / episodes.length
      ]))
      const bestPassage = Math.max(...passages.map((p) => -p.rank))
      return passages
        .map((p) => ({
          ...p,
          rank: -((bestPassage > 0 ? -p.rank / bestPassage : 0) + SEARCH_TUNING.episodeContext * (context.get(p.episode_id) ?? 0))
        }))
        .sort((a, b) => a.rank - b.rank)
    }

    const vectorList = (
      kind: VectorKind,
      vector: Float32Array,
      scope: OwnerScope,
      request: SearchRequest,
      filters: FilterTree | undefined,
      depth: number
    ) =>
      Effect.gen(function*() {
        const k = filters === undefined ? depth : depth * FILTERED_OVERSAMPLING
        const owner = vectorOwner(scope.app_id, scope.project_id, scope.owner, kind)
        const neighbours = yield* vectors.nearest(owner, vector, k, vector.length)
        const items = new Map(
          (yield* repo.vectorItems(kind, neighbours.map((n) => n.item_key), scope, filters)).map((item) => [item.item_key, item])
        )
        const radius = request.radius ?? -1
        const hits: Array<Hit> = []
        for (const neighbour of neighbours) {
          const item = items.get(neighbour.item_key)
          if (item === undefined || 1 - neighbour.distance < radius) continue
          hits.push(item)
          if (hits.length >= depth) break
        }
        return hits as ReadonlyArray<Hit>
      })

    const vectorCandidates = (
      model: typeof Embedder.Service,
      request: SearchRequest,
      scope: OwnerScope,
      filters: FilterTree | undefined,
      depth: number
    ) =>
      Effect.gen(function*() {
        const vector = yield* model.embedQuery(request.query)
        if (vector.length !== model.dimensions) {
          return yield* new EmbedderUnavailable({
            reason: `query vector has ${vector.length} dimensions, expected ${model.dimensions}`,
            retryable: false
          })
        }
        return yield* Effect.all({
          episodes: vectorList("episode", vector, scope, request, filters, depth),
          facts: vectorList("fact", vector, scope, request, filters, depth),
          passages: Effect.succeed([] as ReadonlyArray<PassageHit>)
        })
      })

    /**
     * What search shows of the chosen episodes: each one's excerpt (its best windows, see
     * `SEARCH_TUNING`, as the lines that earn their words, merged in conversation order) and, with
     * a token budget, the packed context (see `Evidence`). Windows rank by their passage score plus
     * `contextEpisodeWeight` times their episode's fused score. An episode no passage matched shows
     * the lines its matching facts came from (else its opening line), ranked after every matched
     * window; one without passages (written before the passage index) keeps its full content.
     */
    const evidence = (
      chosen: ReadonlyArray<string>,
      episodeScores: ReadonlyMap<string, number>,
      passages: ReadonlyArray<PassageHit>,
      facts: ReadonlyArray<{ readonly episode_id: string; readonly message_ids: ReadonlyArray<string>; readonly score: number }>,
      factSources: ReadonlyMap<string, ReadonlyArray<string>>,
      queryTerms: ReadonlySet<string>,
      maxTokens: number | undefined
    ) =>
      Effect.gen(function*() {
        const chosenSet = new Set(chosen)
        const byKey = new Map<string, { episode_id: string; position: number; score: number }>()
        for (const p of passages) {
          if (!chosenSet.has(p.episode_id)) continue
          if (byKey.size >= SEARCH_TUNING.contextWindows) break
          byKey.set(`${p.episode_id}#${p.position}`, {
            episode_id: p.episode_id,
            position: p.position,
            score: -p.rank + SEARCH_TUNING.contextEpisodeWeight * (episodeScores.get(p.episode_id) ?? 0)
          })
        }
        // A matching fact (keyword or vector) vouches for the lines it was made from.
        const vouching = facts.filter((f) => chosenSet.has(f.episode_id) && f.message_ids.length > 0)
        if (SEARCH_TUNING.factWindowWeight > 0 && vouching.length > 0) {
          const rows = yield* repo.passagePositions([...new Set(vouching.map((f) => f.episode_id))], [
            ...new Set(vouching.flatMap((f) => f.message_ids))
          ])
          const positionOf = new Map(rows.map((row) => [`${row.episode_id}#${row.message_id}`, row.position]))
          for (const fact of vouching) {
            for (const id of fact.message_ids) {
              const position = positionOf.get(`${fact.episode_id}#${id}`)
              if (position === undefined) continue
              const key = `${fact.episode_id}#${position}`
              const window = byKey.get(key) ??
                { episode_id: fact.episode_id, position, score: SEARCH_TUNING.contextEpisodeWeight * (episodeScores.get(fact.episode_id) ?? 0) }
              window.score += SEARCH_TUNING.factWindowWeight * fact.score
              byKey.set(key, window)
            }
          }
        }
        const windows: Array<RankedWindow> = [...byKey.values()].sort((a, b) => b.score - a.score)
        const matched = new Set(windows.map((w) => w.episode_id))
        const unmatched = chosen.filter((id) => !matched.has(id))
        if (unmatched.length > 0) {
          const known = yield* repo.passagePositions(unmatched, [...new Set(unmatched.flatMap((id) => factSources.get(id) ?? []))])
          const floor = Math.min(0, ...windows.map((w) => w.score)) - 1
          for (const id of unmatched) {
            const sources = new Set(factSources.get(id) ?? [])
            const rows = known.filter((row) => row.episode_id === id)
            if (rows.length === 0) continue
            const fromFacts = rows.filter((row) => sources.has(row.message_id)).map((row) => row.position)
            for (const position of fromFacts.length > 0 ? fromFacts.slice(0, SEARCH_TUNING.excerptPassages) : [0]) {
              windows.push({ episode_id: id, position, score: floor + (episodeScores.get(id) ?? 0) })
            }
          }
        }
        // Excerpts: each episode's best windows, close enough to its best one.
        const excerptWindows = new Map<string, Array<RankedWindow>>()
        for (const window of windows) {
          const mine = excerptWindows.get(window.episode_id) ?? []
          if (mine.length >= SEARCH_TUNING.excerptPassages) continue
          // Relative to a positive best only (windows of unmatched episodes score below zero).
          if (mine.length > 0 && mine[0]!.score > 0 && window.score < SEARCH_TUNING.excerptMinRelative * mine[0]!.score) continue
          mine.push(window)
          excerptWindows.set(window.episode_id, mine)
        }
        // The context reads windows best first until the budget is spent: enough of them for it.
        const contextWindows = maxTokens === undefined ? [] : windows.slice(0, Math.ceil(maxTokens / 12) + 20)
        const reach = SEARCH_TUNING.contextRadius + 1
        const wanted = new Map<string, Set<number>>()
        for (const window of [...[...excerptWindows.values()].flat(), ...contextWindows]) {
          const positions = wanted.get(window.episode_id) ?? new Set<number>()
          for (let p = Math.max(0, window.position - reach); p <= window.position + reach; p++) positions.add(p)
          wanted.set(window.episode_id, positions)
        }
        const lines = yield* repo.passageLines([...wanted].map(([episode_id, positions]) => ({ episode_id, positions: [...positions] })))
        const lineAt = new Map(lines.map((row) => [`${row.episode_id}#${row.position}`, row]))
        const source: LineSource = {
          lineAt: (episodeId, position) => lineAt.get(`${episodeId}#${position}`),
          // Content only: the speaker's name in the prefix would match every line of that speaker.
          matches: (line) => lexicon.terms(line.line.replace(/^\[[^\]]*\] [^:]*: /, "")).some((t) => queryTerms.has(t))
        }
        const positionsOf = (rule: NeighbourRule) => (window: RankedWindow) =>
          windowPositions(window, SEARCH_TUNING.contextRadius, rule, source)

        const excerptOf = new Map<string, Excerpt>()
        for (const [id, mine] of excerptWindows) {
          const spans = evidenceSpans(collectEvidence(mine, positionsOf(SEARCH_TUNING.excerptNeighbours), source))
            .slice()
            .sort((a, b) => a.lines[0]!.position - b.lines[0]!.position)
          if (spans.length === 0) continue
          excerptOf.set(id, {
            text: spans.map((span) => span.lines.map((l) => l.line).join("\n")).join("\n\n"),
            quoted: new Set(spans.flatMap((span) => span.lines.map((l) => l.message_id)))
          })
        }
        const context = maxTokens === undefined
          ? undefined
          : evidenceSpans(collectEvidence(contextWindows, positionsOf(SEARCH_TUNING.contextNeighbours), source, { maxTokens, count: tokens.count }))
        return { excerptOf, context }
      })

    /** Fuses the candidates, keeps the best `limit` episodes above `minScore`, and loads them with their facts. */
    const assemble = (
      method: RanSearchMethod,
      query: string,
      keyword: Candidates,
      vector: Candidates,
      limit: number,
      minScore: number,
      maxTokens: number | undefined
    ) =>
      Effect.gen(function*() {
        const keywordRuns = method !== "vector"
        const vectorRuns = method !== "keyword"
        const lists = [
          { ids: keyword.passages.map((p) => p.episode_id), weight: SEARCH_TUNING.passageWeight },
          { ids: keyword.episodes.map((hit) => hit.episode_id), weight: SEARCH_TUNING.episodeWeight },
          { ids: vector.episodes.map((hit) => hit.episode_id), weight: SEARCH_TUNING.episodeWeight },
          { ids: keyword.facts.map((hit) => hit.episode_id), weight: SEARCH_TUNING.factWeight },
          { ids: vector.facts.map((hit) => hit.episode_id), weight: SEARCH_TUNING.factWeight }
        ]
        const totalWeight = (keywordRuns ? SEARCH_TUNING.passageWeight + SEARCH_TUNING.episodeWeight + SEARCH_TUNING.factWeight : 0) +
          (vectorRuns ? SEARCH_TUNING.episodeWeight + SEARCH_TUNING.factWeight : 0)
        const fused = weightedFusion(lists.filter((list) => list.ids.length > 0 && list.weight > 0), totalWeight)
        const episodeScores = fused.scores
        const chosen = fused.order.filter((id) => episodeScores.get(id)! >= minScore).slice(0, limit)
        if (chosen.length === 0) return { episodes: [] as ReadonlyArray<SearchEpisode>, context: maxTokens === undefined ? undefined : [] }

        const listsPerKind = method === "hybrid" ? 2 : 1
        const factHits = [keyword.facts, vector.facts]
        const factScores = normalizedFusion(factHits.map((list) => list.map((hit) => hit.id)), listsPerKind)
        const chosenSet = new Set(chosen)
        const factIdsByEpisode = new Map<string, Array<string>>()
        for (const hit of factHits.flat()) {
          if (!chosenSet.has(hit.episode_id)) continue
          const ids = factIdsByEpisode.get(hit.episode_id) ?? []
          if (!ids.includes(hit.id)) ids.push(hit.id)
          factIdsByEpisode.set(hit.episode_id, ids)
        }
        const [episodeRows, factRows] = yield* Effect.all([
          repo.episodes(chosen),
          repo.facts([...factIdsByEpisode.values()].flat())
        ])
        const episodeById = new Map(episodeRows.map((row) => [row.episode_id, row]))
        const factById = new Map(factRows.map((row) => [row.fact_id, row]))
        const factsOf = (id: string) =>
          (factIdsByEpisode.get(id) ?? [])
            .flatMap((factId) => {
              const fact = factById.get(factId)
              return fact === undefined
                ? []
                : [{ id: fact.fact_id, content: fact.content, score: factScores.get(factId) ?? 0, message_ids: fact.message_ids }]
            })
            // Most relevant first (fused fact rank; stable for ties).
            .sort((a, b) => b.score - a.score)
            .slice(0, SEARCH_TUNING.nestedFacts)
        const factSources = new Map(chosen.map((id) => [id, factsOf(id).flatMap((fact) => fact.message_ids)]))
        const matchingFacts = factRows.map((row) => ({ episode_id: row.episode_id, message_ids: row.message_ids, score: factScores.get(row.fact_id) ?? 0 }))
        const shown = yield* evidence(chosen, episodeScores, keyword.passages, matchingFacts, factSources, new Set(lexicon.terms(query)), maxTokens)
        const excerptOf = shown.excerptOf
        // A fact restating only lines the excerpt already quotes adds words, not information.
        const nestedFacts = (id: string) => {
          const quoted = excerptOf.get(id)?.quoted
          const facts = factsOf(id)
          return quoted === undefined || !SEARCH_TUNING.dropQuotedFacts
            ? facts
            : facts.filter((fact) => fact.message_ids.length === 0 || !fact.message_ids.every((m) => quoted.has(m)))
        }
        const episodes = chosen.flatMap((id): ReadonlyArray<SearchEpisode> => {
          const row = episodeById.get(id)
          // Deleted between the candidate query and this read.
          if (row === undefined) return []
          return [{
            // The lines that answer the query; the whole episode stays available via get.
            ...episodeView(row, excerptOf.get(id)?.text ?? row.content),
            score: episodeScores.get(id)!,
            atomic_facts: nestedFacts(id)
          }]
        })
        return { episodes, context: shown.context }
      })

    /**
     * The context block: evidence spans best first (a blank line between spans), then buffered
     * messages (said since the last memcell) while they fit.
     */
    const packContext = (
      spans: ReadonlyArray<EvidenceSpan>,
      buffered: ReadonlyArray<UnprocessedMessage>,
      maxTokens: number
    ) => {
      const lines: Array<ContextLine> = []
      const blocks: Array<string> = []
      for (const span of spans) {
        blocks.push(span.lines.map((l) => l.line).join("\n"))
        for (const line of span.lines) lines.push({ kind: "message", text: line.line, message_ids: [line.message_id], score: span.score })
      }
      let used = tokens.count(blocks.join("\n\n"))
      const shownIds = new Set(lines.flatMap((l) => l.message_ids))
      const recent: Array<string> = []
      for (const message of buffered) {
        if (shownIds.has(message.message_id)) continue
        const text = `[${new Date(message.timestamp).toISOString().slice(0, 10)}] ${message.sender_id}: ${message.content.replace(/\s+/g, " ").trim()}`
        const cost = tokens.count(text) + 2
        if (used + cost > maxTokens) continue
        used += cost
        recent.push(text)
        lines.push({ kind: "message", text, message_ids: [message.message_id], score: 0 })
      }
      if (recent.length > 0) blocks.push(recent.join("\n"))
      const context = blocks.join("\n\n")
      return { context, context_tokens: tokens.count(context), context_lines: lines }
    }

    /**
     * Buffered messages: all of the session a top-level `session_id` filter pins (conversation
     * order), else those of the owner's buffered sessions sharing a term with the query (most
     * shared terms first, then newest).
     */
    const unprocessed = (request: SearchRequest, scope: OwnerScope, filters: FilterTree | undefined, limit: number) =>
      Effect.gen(function*() {
        const pinned = pinnedSession(request.filters)
        const present = (m: BufferedMessage): UnprocessedMessage => ({
          message_id: m.message_id,
          session_id: m.session_id,
          sender_id: m.sender_id,
          role: m.role,
          timestamp: m.timestamp,
          content: m.content
        })
        if (pinned !== undefined) return (yield* repo.sessionBuffered(scope, pinned, filters, TOP_K_ALL_CAP)).map(present)
        const queryTerms = new Set(lexicon.terms(request.query))
        if (queryTerms.size === 0) return []
        const scored = (yield* repo.ownerBuffered(scope, filters)).flatMap((message) => {
          const shared = new Set(lexicon.terms(message.content).filter((term) => queryTerms.has(term))).size
          return shared > 0 ? [{ message, shared }] : []
        })
        return scored
          .sort((a, b) => b.shared - a.shared || b.message.timestamp - a.message.timestamp)
          .slice(0, limit)
          .map(({ message }) => present(message))
      })

    const search = Effect.fn("Search.search")(function*(request: SearchRequest) {
      if (request.method === "agentic") {
        return yield* new CapabilityUnavailable({
          capability: "agentic search",
          hint: "LLM-guided multi-query retrieval is not implemented yet; use method hybrid, vector or keyword"
        })
      }
      const readiness = yield* vectorReadiness
      const method: RanSearchMethod = request.method ?? (Either.isRight(readiness) ? "hybrid" : "keyword")
      yield* Effect.annotateCurrentSpan({ "engram.search.method": method, "engram.search.top_k": request.top_k })
      const scope: OwnerScope = {
        app_id: request.app_id,
        project_id: request.project_id,
        owner: request.user_id ?? request.agent_id ?? ""
      }
      const filters = request.filters === undefined ? undefined : toFilterTree(request.filters)
      const limit = request.top_k === -1 ? TOP_K_ALL_CAP : request.top_k
      const depth = candidateDepth(request.top_k)

      let vector = noCandidates
      if (method !== "keyword") {
        if (Either.isLeft(readiness)) {
          return yield* new CapabilityUnavailable({ capability: `${method} search`, hint: readiness.left })
        }
        vector = yield* vectorCandidates(readiness.right, request, scope, filters, vectorDepth(request.top_k))
      }
      const keyword = method === "vector" ? noCandidates : yield* keywordCandidates(request.query, scope, filters, depth)
      const { context, episodes } = yield* assemble(
        method,
        request.query,
        keyword,
        vector,
        limit,
        request.min_score ?? Number.NEGATIVE_INFINITY,
        request.max_tokens
      )
      const unprocessed_messages = yield* unprocessed(request, scope, filters, limit)
      const tracks = yield* trackSearch.results(request)
      const result: SearchResult = {
        method,
        episodes,
        ...tracks,
        unprocessed_messages
      }
      return context === undefined || request.max_tokens === undefined
        ? result
        : { ...result, ...packContext(context, unprocessed_messages, request.max_tokens) }
    }) as (request: SearchRequest) => Effect.Effect<SearchResult, SearchError>

    return { search } as const
  })
}) {}
