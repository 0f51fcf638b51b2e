/**
 * Excerpts and context windows: which lines of the chosen episodes search shows. Ranked message
 * windows (passages, and the sources of matching facts) become each episode's excerpt and, with
 * a token budget, the ranked evidence spans the context is packed from (see `Evidence`).
 */
import { Effect } from "effect"
import { cosine } from "../Indexing/Cosine.js"
import type { PassageVectors } from "../Indexing/PassageVectors.js"
import type { Lexicon } from "../Text/Lexicon.js"
import type { TokenCounter } from "../Text/TokenCounter.js"
import { rescaleToUnit, valueRange, type ValueRange } from "./Fusion.js"
import {
  collectEvidence,
  type EvidenceLine,
  evidenceSpans,
  type LineSource,
  type NeighbourRule,
  type RankedWindow,
  windowPositions
} from "./Evidence.js"
import type { EpisodeEdges, PassageHit, SearchRepo } from "./SearchRepo.js"
import { SEARCH_TUNING } from "./SearchTuning.js"

/** An episode's excerpt and the messages it quotes. */
export interface Excerpt {
  readonly text: string
  readonly quoted: ReadonlySet<string>
}

/** What ranks windows by meaning: the query's vector, and how much each episode is about the query's words. */
export interface WindowMeaning {
  readonly queryVector: Float32Array
  readonly episodeContext: ReadonlyMap<string, number>
}

/** A matching fact as the excerpts see it: the lines it vouches for, and how well it matched. */
export interface MatchingFact {
  readonly episode_id: string
  readonly message_ids: ReadonlyArray<string>
  readonly score: number
}

/**
 * The line just outside an episode (a memcell boundary may fall between a question and its
 * reply), placed at the position before its first line or after its last one.
 */
const edgeLine = (edges: EpisodeEdges | undefined, episode_id: string, position: number): EvidenceLine | undefined => {
  const outside = edges === undefined
    ? undefined
    : position === -1
    ? edges.before
    : position === edges.lastPosition + 1
    ? edges.after
    : undefined
  return outside === undefined ? undefined : { episode_id, position, ...outside }
}

export const makeShownEvidence = (repo: SearchRepo, passageVectors: PassageVectors, lexicon: Lexicon, tokens: TokenCounter) => {
  /**
   * What search shows of the chosen episodes: each one's excerpt (its best windows, see
   * `SEARCH_TUNING`, as the lines that earn their words, merged in conversation order) and, with
   * a token budget, the packed context (see `Evidence`). Windows rank by their passage score plus
   * `contextEpisodeWeight` times their episode's fused score. An episode no passage matched shows
   * the lines its matching facts came from (else its opening line), ranked after every matched
   * window; one without passages (written before the passage index) keeps its full content.
   * With `meaning` (vector and hybrid), every embedded window of the chosen episodes also gets
   * `passageVectorWeight` times its cosine to the query, rescaled to [0, 1] over those windows, so
   * a window that says what was asked in other words is shown too (see `SEARCH_TUNING`); the
   * range of those cosines is returned for fact lines to be scored on.
   */
  const shownEvidence = (
    chosen: ReadonlyArray<string>,
    episodeScores: ReadonlyMap<string, number>,
    passages: ReadonlyArray<PassageHit>,
    facts: ReadonlyArray<MatchingFact>,
    factSources: ReadonlyMap<string, ReadonlyArray<string>>,
    queryTerms: ReadonlySet<string>,
    maxTokens: number | undefined,
    meaning: WindowMeaning | undefined,
    onNamedDates: ReadonlySet<string>
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
      // The windows' cosines to the query, lowest to highest: fact lines are scored on this scale.
      let windowCosines: ValueRange | undefined
      if (meaning !== undefined && SEARCH_TUNING.passageVectorWeight > 0) {
        const stored = yield* passageVectors.vectorsOf(chosen)
        const cosines = stored.map((p) => cosine(meaning.queryVector, p.vector))
        windowCosines = valueRange(cosines)
        const similarity = rescaleToUnit(cosines)
        stored.forEach((p, i) => {
          const key = `${p.episode_id}#${p.position}`
          const window = byKey.get(key) ??
            { episode_id: p.episode_id, position: p.position, score: SEARCH_TUNING.episodeContext * (meaning.episodeContext.get(p.episode_id) ?? 0) }
          window.score += SEARCH_TUNING.passageVectorWeight * similarity[i]!
          byKey.set(key, window)
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
      // A window said on a day the query names: the date is its evidence too.
      if (onNamedDates.size > 0) {
        for (const window of byKey.values()) if (onNamedDates.has(window.episode_id)) window.score += SEARCH_TUNING.dateWindowWeight
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
      // Only episodes read up to an edge need the lines across it: position 0 was wanted, or a
      // wanted position past their last line (what exists of the wanted ones was just read).
      const lastRead = new Map<string, number>()
      for (const row of lines) lastRead.set(row.episode_id, Math.max(lastRead.get(row.episode_id) ?? -1, row.position))
      const atEdges = [...wanted].filter(([id, positions]) =>
        positions.has(0) || [...positions].some((p) => p > (lastRead.get(id) ?? Number.POSITIVE_INFINITY))
      ).map(([id]) => id)
      const edges = yield* repo.episodeEdges(atEdges)
      const source: LineSource = {
        lineAt: (episodeId, position) => lineAt.get(`${episodeId}#${position}`) ?? edgeLine(edges.get(episodeId), episodeId, position),
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
      return { excerptOf, context, windowCosines }
    })

  return { shownEvidence } as const
}
