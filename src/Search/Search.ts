import { Effect, Either } from "effect"
import { CapabilityUnavailable, type StorageError } from "../Domain/Errors.js"
import { toFilterTree } from "../Domain/Filters.js"
import { type RanSearchMethod, type SearchRequest, type SearchResult, TOP_K_ALL_CAP } from "../Domain/SearchRequest.js"
import { PassageVectors } from "../Indexing/PassageVectors.js"
import { VectorStore } from "../Indexing/VectorStore.js"
import { Embedder, type EmbedderUnavailable } from "../Llm/Embedder.js"
import { Lexicon } from "../Text/Lexicon.js"
import { TokenCounter } from "../Text/TokenCounter.js"
import { makeAssembly } from "./Assembly.js"
import { noCandidates } from "./Candidates.js"
import { packContext } from "./ContextPacking.js"
import { makeKeywordCandidates } from "./KeywordCandidates.js"
import { mentionRanges, queryDates } from "./QueryDates.js"
import { type OwnerScope, SearchRepo } from "./SearchRepo.js"
import { candidateDepth, vectorDepth } from "./SearchTuning.js"
import { makeShownEvidence } from "./ShownEvidence.js"
import { makeUnprocessedMessages } from "./UnprocessedMessages.js"
import { makeVectorCandidates } from "./VectorCandidates.js"

export { BIG_OWNER_ITEMS, candidateDepth, COMMON_WORD_ROWS, KEYWORD_POSTINGS_BUDGET, SEARCH_TUNING, vectorDepth } from "./SearchTuning.js"
import { TrackSearch } from "./TrackSearch.js"

export type SearchError = CapabilityUnavailable | EmbedderUnavailable | StorageError

/**
 * Search over a user's episodes and atomic facts: keyword (FTS5 bm25, English stemming and CJK
 * trigrams), vector (sqlite-vec cosine) or hybrid, fused by reciprocal rank. Facts are searched
 * in their own right and nest under their episode; an episode's score counts its best facts, and
 * a fact hit brings its episode even when the episode itself did not match. Buffered messages
 * (no memcell yet) that match the query come back as `unprocessed_messages`.
 *
 * Scores are fused reciprocal ranks scaled to (0, 1] (1: first in every list the method runs:
 * keyword 2 lists, vector 2, hybrid 4), comparable across queries of one method.
 *
 * The stages, in order: candidates per index (`KeywordCandidates`, `VectorCandidates`), fusion and
 * loading (`Assembly`), the lines shown (`ShownEvidence`), the packed context (`ContextPacking`),
 * buffered messages (`UnprocessedMessages`).
 */
export class Search extends Effect.Service<Search>()("engram/Search", {
  effect: Effect.gen(function*() {
    const repo = yield* SearchRepo
    const vectors = yield* VectorStore
    const passageVectors = yield* PassageVectors
    const lexicon = yield* Lexicon
    const trackSearch = yield* TrackSearch
    const tokens = yield* TokenCounter
    // Optional: without an embedder only keyword search runs.
    const embedder = yield* Effect.serviceOption(Embedder)

    const { keywordCandidates } = makeKeywordCandidates(repo, lexicon)
    const { vectorCandidates, vectorReadiness } = makeVectorCandidates(repo, vectors, embedder)
    const { assemble } = makeAssembly(repo, lexicon, makeShownEvidence(repo, passageVectors, lexicon, tokens))
    const { unprocessed } = makeUnprocessedMessages(repo, lexicon)

    const search = Effect.fn("Search.search")(function*(request: SearchRequest) {
      if (request.method === "agentic") {
        return yield* new CapabilityUnavailable({
          capability: "agentic search",
          hint: "agentic search runs through SearchEntry (HTTP, CLI, MCP), which needs an LLM; this entry runs hybrid, vector or keyword"
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

      if (method !== "keyword" && Either.isLeft(readiness)) {
        return yield* new CapabilityUnavailable({ capability: `${method} search`, hint: readiness.left })
      }
      // Both sides at once: the query's embedding (a worker thread or an endpoint) and the
      // nearest-neighbour reads (a reader thread, or Postgres) wait while the keyword side runs.
      const [vector, keyword] = yield* Effect.all([
        method === "keyword" || Either.isLeft(readiness)
          ? Effect.succeed(noCandidates)
          : vectorCandidates(readiness.right, request, scope, filters, vectorDepth(request.top_k)),
        method === "vector" ? Effect.succeed(noCandidates) : keywordCandidates(request.query, scope, filters, depth)
      ], { concurrency: 2 })
      // Days and months the query names: their episodes are candidates, their windows rank higher.
      const dates = queryDates(request.query)
      const dated = yield* repo.episodesInRanges(scope, filters, mentionRanges(dates), depth)
      const { context, episodes } = yield* assemble(
        method,
        request.query,
        keyword,
        vector,
        { mentions: dates, episodes: dated },
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
        : { ...result, ...packContext(tokens.count, context.spans, context.facts, unprocessed_messages, request.max_tokens) }
    }) as (request: SearchRequest) => Effect.Effect<SearchResult, SearchError>

    return { search } as const
  })
}) {}
