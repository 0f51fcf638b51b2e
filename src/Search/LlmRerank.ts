import { Effect, Either, Option } from "effect"
import type { LlmRerankOutcome, SearchEpisode } from "../Domain/SearchRequest.js"
import { askUntilDecoded, chatRequest } from "../Extraction/LlmExtractors.js"
import { decodeJsonAnswer } from "../Llm/JsonAnswer.js"
import { LlmClient } from "../Llm/LlmClient.js"
import { RERANK_PROMPT_VERSION, RERANK_SYSTEM_PROMPT, RerankAnswer, rerankUserPrompt } from "../Llm/Prompts.js"
import { episodeCandidates } from "./PromptCandidates.js"

/** Candidates the model judges at most: one call, and a prompt that stays a few thousand tokens. */
export const RERANK_MAX_CANDIDATES = 40

/** How deep to retrieve before a rerank cuts to `topK` (EverOS: twice the answer). */
export const rerankPoolSize = (topK: number) => (topK === -1 ? -1 : Math.min(100, topK * 2))

export const NO_LLM_FOR_RERANK = "no LLM configured (set ENGRAM_LLM_BASE_URL and ENGRAM_LLM_MODEL); episodes are in fused order"

export interface Reranked {
  readonly episodes: ReadonlyArray<SearchEpisode>
  readonly outcome: LlmRerankOutcome
}

/**
 * `enable_llm_rerank`: the top candidates are judged by the model in ONE call (a malformed answer is
 * asked again, at most 3 calls) and reordered by its score, which becomes `score`; the fused score
 * stays beside it as `fusion_score`. Candidates the model left unscored follow, scored 0, in fused
 * order. Without an LLM, or when the model cannot answer, the fused order is kept and the outcome
 * says why: a rerank is never the reason a search fails.
 */
export class LlmRerank extends Effect.Service<LlmRerank>()("engram/LlmRerank", {
  effect: Effect.gen(function*() {
    const llm = yield* Effect.serviceOption(LlmClient)

    const rerank = Effect.fn("LlmRerank.rerank")(function*(query: string, episodes: ReadonlyArray<SearchEpisode>) {
      if (Option.isNone(llm)) {
        return { episodes, outcome: { applied: false, judged: 0, reason: NO_LLM_FOR_RERANK } } satisfies Reranked
      }
      if (episodes.length === 0) {
        return { episodes, outcome: { applied: false, judged: 0, reason: "no candidates to judge" } } satisfies Reranked
      }
      const pool = episodes.slice(0, RERANK_MAX_CANDIDATES)
      const answer = yield* askUntilDecoded(
        llm.value,
        chatRequest("rerank", RERANK_SYSTEM_PROMPT, rerankUserPrompt(query, episodeCandidates(pool))),
        RERANK_PROMPT_VERSION,
        decodeJsonAnswer(RerankAnswer)
      ).pipe(Effect.either)
      if (Either.isLeft(answer)) {
        yield* Effect.logWarning("rerank skipped: the model gave no usable answer").pipe(
          Effect.annotateLogs({ reason: answer.left.message })
        )
        return { episodes, outcome: { applied: false, judged: 0, reason: answer.left.message } } satisfies Reranked
      }
      const modelScore = new Map<number, number>()
      for (const { id, score } of answer.right.ranked) {
        if (id >= 1 && id <= pool.length && !modelScore.has(id)) modelScore.set(id, score)
      }
      const judged = pool
        .map((episode, i) => ({ episode, position: i, score: modelScore.get(i + 1) ?? 0 }))
        .sort((a, b) => b.score - a.score || a.position - b.position)
        .map(({ episode, score }) => ({ ...episode, score, fusion_score: episode.score }))
      return {
        episodes: [...judged, ...episodes.slice(pool.length)],
        outcome: { applied: true, judged: modelScore.size }
      } satisfies Reranked
    })

    return { rerank } as const
  })
}) {}
