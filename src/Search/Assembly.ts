/**
 * Assembly: the candidates of every method fused into one episode ranking (weighted reciprocal
 * ranks, see `SEARCH_TUNING`), the best `limit` loaded with their best facts and excerpts; with a
 * token budget, also the evidence spans and fact lines the context is packed from.
 */
import { Effect } from "effect"
import type { RanSearchMethod, SearchEpisode } from "../Domain/SearchRequest.js"
import { episodeView } from "../Extraction/DerivedRows.js"
import type { Lexicon } from "../Text/Lexicon.js"
import type { Candidates } from "./Candidates.js"
import { lineDay } from "../Indexing/PassageIndex.js"
import { factLines } from "./FactLines.js"
import { normalizedFusion, rescaleToUnit, weightedFusion } from "./Fusion.js"
import { episodeContextOf } from "./KeywordCandidates.js"
import { type DateMention, dayMatches } from "./QueryDates.js"
import type { Hit, SearchRepo } from "./SearchRepo.js"
import { SEARCH_TUNING } from "./SearchTuning.js"
import type { makeShownEvidence } from "./ShownEvidence.js"

/** The dates a query names and the owner's episodes of those days and months (oldest first). */
export interface DatedCandidates {
  readonly mentions: ReadonlyArray<DateMention>
  readonly episodes: ReadonlyArray<Hit>
}

/** Each chosen episode's fused score rescaled to [0, 1] over the chosen ones (fact lines weigh it). */
const standingOf = (chosen: ReadonlyArray<string>, scores: ReadonlyMap<string, number>): ReadonlyMap<string, number> => {
  const standing = rescaleToUnit(chosen.map((id) => scores.get(id)!))
  return new Map(chosen.map((id, i) => [id, standing[i]!]))
}

export const makeAssembly = (repo: SearchRepo, lexicon: Lexicon, { shownEvidence }: ReturnType<typeof makeShownEvidence>) => {
  /** Fuses the candidates, keeps the best `limit` episodes above `minScore`, and loads them with their facts. */
  const assemble = (
    method: RanSearchMethod,
    query: string,
    keyword: Candidates,
    vector: Candidates,
    dated: DatedCandidates,
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
        { ids: vector.facts.map((hit) => hit.episode_id), weight: SEARCH_TUNING.factWeight },
        { ids: dated.episodes.map((hit) => hit.episode_id), weight: SEARCH_TUNING.dateWeight }
      ]
      // A query that names a date runs the dated list too (so 1 is still first in every list run).
      const totalWeight = (keywordRuns ? SEARCH_TUNING.passageWeight + SEARCH_TUNING.episodeWeight + SEARCH_TUNING.factWeight : 0) +
        (vectorRuns ? SEARCH_TUNING.episodeWeight + SEARCH_TUNING.factWeight : 0) +
        (dated.mentions.length > 0 ? SEARCH_TUNING.dateWeight : 0)
      const fused = weightedFusion(lists.filter((list) => list.ids.length > 0 && list.weight > 0), totalWeight)
      const episodeScores = fused.scores
      const chosen = fused.order.filter((id) => episodeScores.get(id)! >= minScore).slice(0, limit)
      if (chosen.length === 0) {
        return { episodes: [] as ReadonlyArray<SearchEpisode>, context: maxTokens === undefined ? undefined : { spans: [], facts: [] } }
      }

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
      // Chosen episodes of a day or month the query names (by the day their lines show).
      const onNamedDates = new Set(
        dated.mentions.length === 0
          ? []
          : chosen.filter((id) => {
            const row = episodeById.get(id)
            return row !== undefined && dayMatches(dated.mentions, lineDay(row.timestamp))
          })
      )
      const shown = yield* shownEvidence(chosen, episodeScores, keyword.passages, matchingFacts, factSources, new Set(lexicon.terms(query)), maxTokens,
        vector.queryVector === undefined ? undefined : { queryVector: vector.queryVector, episodeContext: episodeContextOf(keyword.episodes) },
        onNamedDates
      )
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
      const context = shown.context === undefined
        ? undefined
        : {
          spans: shown.context,
          facts: factLines(
            factRows,
            keyword.facts,
            vector.facts,
            { bestBm25: keyword.passageBm25Best ?? 0, cosines: shown.windowCosines },
            standingOf(chosen, episodeScores)
          )
        }
      return { episodes, context }
    })

  return { assemble } as const
}
