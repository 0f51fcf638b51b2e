import { Duration, Effect, Either, Option, Ref } from "effect"
import { AgenticSettingsConfig } from "../Config/EngramConfig.js"
import { CapabilityUnavailable, LlmUnavailable } from "../Domain/Errors.js"
import {
  type AgenticOutcome,
  type SearchEpisode,
  type SearchRequest,
  type SearchResult,
  TOP_K_ALL_CAP,
  type UnprocessedMessage
} from "../Domain/SearchRequest.js"
import { askUntilDecoded, chatRequest } from "../Extraction/LlmExtractors.js"
import { decodeJsonAnswer } from "../Llm/JsonAnswer.js"
import { LlmClient } from "../Llm/LlmClient.js"
import {
  COMPLEMENTARY_QUERIES_PROMPT_VERSION,
  COMPLEMENTARY_QUERIES_SYSTEM_PROMPT,
  ComplementaryQueriesAnswer,
  complementaryQueriesUserPrompt,
  SUFFICIENCY_PROMPT_VERSION,
  SUFFICIENCY_SYSTEM_PROMPT,
  SufficiencyAnswer,
  sufficiencyUserPrompt
} from "../Llm/Prompts.js"
import { normalizedFusion } from "./Fusion.js"
import { Search } from "./Search.js"
import { episodeCandidates } from "./PromptCandidates.js"

/** Top results the sufficiency check reads. */
export const SUFFICIENCY_CANDIDATES = 10
/** Complementary queries run at most. */
export const MAX_COMPLEMENTARY_QUERIES = 3
/** The longest query the Search contract takes. */
const MAX_QUERY_CHARS = 2000

export const NO_LLM_FOR_AGENTIC =
  "agentic search needs an LLM: set ENGRAM_LLM_BASE_URL and ENGRAM_LLM_MODEL (and ENGRAM_LLM_API_KEY if the server wants one), or use method hybrid, vector or keyword"

/** Episodes of several rankings fused by reciprocal rank (the base ranking first), scores in (0, 1]. */
const fuseEpisodes = (rankings: ReadonlyArray<ReadonlyArray<SearchEpisode>>, limit: number): ReadonlyArray<SearchEpisode> => {
  const scores = normalizedFusion(rankings.map((ranking) => ranking.map((e) => e.id)), rankings.length)
  const first = new Map<string, SearchEpisode>()
  for (const ranking of rankings) for (const episode of ranking) if (!first.has(episode.id)) first.set(episode.id, episode)
  return [...first.values()]
    .map((episode) => ({ ...episode, score: scores.get(episode.id) ?? 0 }))
    .sort((a, b) => b.score - a.score)
    .slice(0, limit)
}

const unionMessages = (lists: ReadonlyArray<ReadonlyArray<UnprocessedMessage>>, limit: number) => {
  const seen = new Map<string, UnprocessedMessage>()
  for (const list of lists) for (const m of list) if (!seen.has(m.message_id)) seen.set(m.message_id, m)
  return [...seen.values()].slice(0, limit)
}

/**
 * `method: "agentic"`: base retrieval (hybrid: it needs an embedder as well as an LLM), then one LLM
 * sufficiency check over the top results; when information is missing, one LLM call writes up
 * to 3 complementary queries, which run in parallel and are fused with the base ranking by
 * reciprocal rank. Bounded by ENGRAM_AGENTIC_MAX_LLM_CALLS (every attempt, malformed answers
 * included, counts) and ENGRAM_AGENTIC_TIMEOUT over the LLM rounds; any failure there (the
 * model down, an unusable answer, the budget or the deadline spent, a complementary search
 * failing) answers the base results with `agentic.fallback` saying why.
 */
export class AgenticSearch extends Effect.Service<AgenticSearch>()("engram/AgenticSearch", {
  effect: Effect.gen(function*() {
    const search = yield* Search
    const settings = yield* AgenticSettingsConfig
    const llm = yield* Effect.serviceOption(LlmClient)

    const run = Effect.fn("AgenticSearch.run")(function*(request: SearchRequest) {
      if (Option.isNone(llm)) {
        return yield* new CapabilityUnavailable({ capability: "agentic search", hint: NO_LLM_FOR_AGENTIC })
      }
      // Hybrid, never a silent downgrade to keyword: without usable vectors agentic is unavailable too.
      const baseRequest: SearchRequest = { ...request, method: "hybrid", enable_llm_rerank: undefined }
      const base = yield* search.search(baseRequest).pipe(
        Effect.catchTag("CapabilityUnavailable", (error) =>
          new CapabilityUnavailable({ capability: "agentic search", hint: `its base retrieval is hybrid, and ${error.message}` })
        )
      )
      const limit = request.top_k === -1 ? TOP_K_ALL_CAP : request.top_k

      // Every attempt spends one call of the budget; a spent budget fails like an unreachable model.
      const spent = yield* Ref.make(0)
      const budgeted = LlmClient.of({
        model: llm.value.model,
        chat: (chat) =>
          Ref.modify(spent, (n) => [n < settings.maxLlmCalls, n < settings.maxLlmCalls ? n + 1 : n]).pipe(
            Effect.flatMap((allowed) =>
              allowed
                ? llm.value.chat(chat)
                : new LlmUnavailable({ reason: `agentic LLM call budget (${settings.maxLlmCalls}) spent`, retryable: false })
            )
          )
      })

      const rounds = Effect.gen(function*() {
        const verdict = yield* askUntilDecoded(
          budgeted,
          chatRequest(
            "agentic_sufficiency",
            SUFFICIENCY_SYSTEM_PROMPT,
            sufficiencyUserPrompt(request.query, episodeCandidates(base.episodes.slice(0, SUFFICIENCY_CANDIDATES)))
          ),
          SUFFICIENCY_PROMPT_VERSION,
          decodeJsonAnswer(SufficiencyAnswer)
        )
        if (verdict.is_sufficient) return { episodes: base.episodes, unprocessed: base.unprocessed_messages, sufficient: true, queries: [] }
        const written = yield* askUntilDecoded(
          budgeted,
          { ...chatRequest("agentic_queries", COMPLEMENTARY_QUERIES_SYSTEM_PROMPT, complementaryQueriesUserPrompt(request.query, verdict.missing_information)), temperature: 0.4 },
          COMPLEMENTARY_QUERIES_PROMPT_VERSION,
          decodeJsonAnswer(ComplementaryQueriesAnswer)
        )
        const original = request.query.trim().toLowerCase()
        const queries = Array.from(new Set(written.queries.map((q) => q.replace(/\s+/g, " ").trim().slice(0, MAX_QUERY_CHARS))))
          .filter((q) => q.length > 0 && q.toLowerCase() !== original)
          .slice(0, MAX_COMPLEMENTARY_QUERIES)
        const more = yield* Effect.forEach(queries, (query) => search.search({ ...baseRequest, query }), { concurrency: "unbounded" })
        return {
          episodes: fuseEpisodes([base.episodes, ...more.map((r) => r.episodes)], limit),
          unprocessed: unionMessages([base.unprocessed_messages, ...more.map((r) => r.unprocessed_messages)], limit),
          sufficient: false,
          queries
        }
      }).pipe(
        Effect.timeoutFail({
          duration: settings.timeout,
          onTimeout: () => new LlmUnavailable({ reason: `agentic rounds exceeded ${Duration.format(settings.timeout)}`, retryable: true })
        }),
        Effect.either
      )
      const outcome = yield* rounds
      const llm_calls = yield* Ref.get(spent)
      if (Either.isLeft(outcome)) {
        yield* Effect.logWarning("agentic search fell back to the base results").pipe(Effect.annotateLogs({ reason: outcome.left.message }))
        const agentic: AgenticOutcome = { sufficient: null, queries: [], llm_calls, fallback: outcome.left.message }
        return { ...base, method: "agentic", agentic } satisfies SearchResult
      }
      const { episodes, queries, sufficient, unprocessed } = outcome.right
      const agentic: AgenticOutcome = { sufficient, queries, llm_calls }
      return { ...base, method: "agentic", episodes, unprocessed_messages: unprocessed, agentic } satisfies SearchResult
    })

    return { run } as const
  })
}) {}
