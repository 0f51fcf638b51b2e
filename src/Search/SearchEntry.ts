import { Effect } from "effect"
import type { SearchRequest, SearchResult } from "../Domain/SearchRequest.js"
import { TOP_K_ALL_CAP } from "../Domain/SearchRequest.js"
import { AgenticSearch } from "./AgenticSearch.js"
import { LlmRerank, rerankPoolSize } from "./LlmRerank.js"
import { Search } from "./Search.js"

/**
 * Where the edges (HTTP, CLI) send a search request: `method: "agentic"` to AgenticSearch, every
 * other method to Search; then, with `enable_llm_rerank`, the episodes are retrieved twice as deep
 * and reordered by LlmRerank before the cut to `top_k`. The answer's `llm_rerank` says whether the
 * model reordered them.
 */
export class SearchEntry extends Effect.Service<SearchEntry>()("engram/SearchEntry", {
  effect: Effect.gen(function*() {
    const base = yield* Search
    const agentic = yield* AgenticSearch
    const reranker = yield* LlmRerank

    const search = Effect.fn("SearchEntry.search")(function*(request: SearchRequest) {
      const retrieve = request.method === "agentic" ? agentic.run : base.search
      if (request.enable_llm_rerank !== true) return yield* retrieve(request)
      const limit = request.top_k === -1 ? TOP_K_ALL_CAP : request.top_k
      const pooled = yield* retrieve({ ...request, top_k: rerankPoolSize(request.top_k) })
      const { episodes, outcome } = yield* reranker.rerank(request.query, pooled.episodes)
      return {
        ...pooled,
        episodes: episodes.slice(0, limit),
        unprocessed_messages: pooled.unprocessed_messages.slice(0, limit),
        llm_rerank: outcome
      } satisfies SearchResult
    })

    return { search } as const
  })
}) {}
