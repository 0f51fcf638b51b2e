/**
 * Engram as an eval retriever: `prepare` ingests the conversation through `Memory` (see
 * `EngramIngest`), `retrieve` asks search once per speaker (both are users, and search answers for
 * one user; `top_k` `ENGRAM_TOP_K`) and reads the two answers as one, the way an agent serving that
 * conversation would.
 *
 * Merging: episodes of both answers in score order (ties: the first speaker's first); each episode
 * is one result whose parts are the episode (subject, summary and episode text, joined by newlines)
 * followed by its atomic facts; then the unprocessed messages, one result each. A text already shown
 * is not shown again: the two speakers' episodes of one memcell share their transcript, so the
 * second one shows only its own subject, summary and facts.
 */
import { Effect } from "effect"
import { Memory } from "../Memorize/Memory.js"
import { ingestConversation, type IngestStats, scopeOf, senderIdOf } from "./EngramIngest.js"
import type { ReturnedResult, ReturnedText } from "./EvidenceRecall.js"
import type { ConversationRetriever, Retriever } from "./Retriever.js"

/** The part of a search request the eval sets. */
export interface EvalSearchRequest {
  readonly user_id: string
  readonly app_id: string
  readonly project_id: string
  readonly query: string
  readonly top_k: number
  readonly max_tokens: number
}

/** The part of a search answer the eval reads. */
export interface EvalSearchAnswer {
  readonly episodes: ReadonlyArray<{
    readonly score: number
    readonly subject: string
    readonly summary: string
    readonly episode: string
    readonly message_ids: ReadonlyArray<string>
    readonly atomic_facts: ReadonlyArray<{ readonly content: string; readonly message_ids: ReadonlyArray<string> }>
  }>
  readonly unprocessed_messages: ReadonlyArray<{ readonly message_id: string; readonly content: string }>
  readonly context_lines?: ReadonlyArray<{
    readonly kind: "message" | "fact"
    readonly text: string
    readonly message_ids: ReadonlyArray<string>
    readonly score: number
  }> | undefined
}

export type EvalSearch<E> = (request: EvalSearchRequest) => Effect.Effect<EvalSearchAnswer, E>

/**
 * Reads the packed contexts of one question's answers (one per speaker) as ranked results, one
 * line each: lines of all answers by score (ties: the first speaker's first, then line order). A
 * line is left out when it repeats what is shown, by the rule each context is packed with: the
 * same text, or every message it stands for already shown (the speakers' episodes of one memcell
 * share their messages, and one speaker's fact may state a turn the other's context quotes); pure.
 */
export const mergeContexts = (answers: ReadonlyArray<EvalSearchAnswer>): ReadonlyArray<ReturnedResult> => {
  const lines = answers
    .flatMap((answer, speaker) => (answer.context_lines ?? []).map((line, rank) => ({ line, speaker, rank })))
    .sort((a, b) => b.line.score - a.line.score || a.speaker - b.speaker || a.rank - b.rank)
  const shownTexts = new Set<string>()
  const shownMessages = new Set<string>()
  const results: Array<ReturnedResult> = []
  for (const { line } of lines) {
    const repeats = shownTexts.has(line.text) || (line.message_ids.length > 0 && line.message_ids.every((id) => shownMessages.has(id)))
    if (repeats) continue
    shownTexts.add(line.text)
    for (const id of line.message_ids) shownMessages.add(id)
    results.push({ parts: [{ text: line.text, message_ids: line.message_ids, kind: line.kind === "fact" ? "fact" : "text" }] })
  }
  return results
}

/** Reads the EverOS-shaped arrays of one question's answers (one per speaker) as ranked results; pure. */
export const mergeAnswers = (answers: ReadonlyArray<EvalSearchAnswer>, depth: number): ReadonlyArray<ReturnedResult> => {
  const episodes = answers
    .flatMap((answer, speaker) => answer.episodes.map((episode, rank) => ({ episode, speaker, rank })))
    .sort((a, b) => b.episode.score - a.episode.score || a.rank - b.rank || a.speaker - b.speaker)
  const shownTexts = new Set<string>()
  const shownMessages = new Set<string>()
  const fresh = (part: ReturnedText): ReadonlyArray<ReturnedText> => {
    if (part.text.trim().length === 0 || shownTexts.has(part.text)) return []
    shownTexts.add(part.text)
    for (const id of part.message_ids) shownMessages.add(id)
    return [part]
  }
  const results: Array<ReturnedResult> = []
  for (const { episode } of episodes) {
    const header = [episode.subject, episode.summary].filter((t) => t.trim().length > 0).join("\n")
    // The transcript is what the two speakers' episodes of one memcell share: shown once.
    const main = shownTexts.has(episode.episode)
      ? header
      : [header, episode.episode].filter((t) => t.trim().length > 0).join("\n")
    shownTexts.add(episode.episode)
    const parts = [
      ...fresh({ text: main, message_ids: episode.message_ids, kind: "text" }),
      ...episode.atomic_facts.flatMap((fact) => fresh({ text: fact.content, message_ids: fact.message_ids, kind: "fact" }))
    ]
    if (parts.length > 0) results.push({ parts })
  }
  for (const message of answers.flatMap((a) => a.unprocessed_messages)) {
    if (shownMessages.has(message.message_id)) continue
    results.push({ parts: fresh({ text: message.content, message_ids: [message.message_id], kind: "text" }) })
  }
  return results.filter((r) => r.parts.length > 0).slice(0, depth)
}

/** Episodes asked of each speaker's search: what an agent would ask for (the eval's budgets cut the rest). */
export const ENGRAM_TOP_K = 20
/**
 * Context asked of each speaker's search (`max_tokens`): more than the eval's largest budget
 * (1000 words of `[date] Speaker: text` lines are about 1,500 tokens; the two speakers' contexts
 * are merged), so the reader's cut, not the packing, ends what is read.
 */
export const ENGRAM_CONTEXT_TOKENS = 1600

/** What the eval reads of Engram's answers: the packed `context`, or the EverOS-shaped arrays. */
export type EngramReading = "context" | "arrays"

/** Turns in Engram's memcells, counted while ingesting. */
const segmentDetails = (sizes: ReadonlyArray<number>): Record<string, number> => ({
  memcells: sizes.length,
  memcell_messages: sizes.reduce((s, n) => s + n, 0),
  memcells_over_40_messages: sizes.filter((n) => n > 40).length
})

/**
 * Engram behind `search`, on whatever `Memory` the context provides: one retriever per reading,
 * all answering from one ingest (the first one's `prepare` ingests, the others reuse it).
 */
export const makeEngramRetrievers = <E>(
  readings: ReadonlyArray<{ readonly name: string; readonly description: string; readonly reading: EngramReading }>,
  search: EvalSearch<E>
) =>
  Effect.map(Memory, (memory) => {
    const ingested = new Map<string, IngestStats>()
    return readings.map(({ description, name, reading }) => {
      const retriever: Retriever<E | Effect.Effect.Error<ReturnType<typeof ingestConversation>>> = {
        name,
        description,
        prepare: (conversation) =>
          Effect.gen(function*() {
            let stats = ingested.get(conversation.sampleId)
            if (stats === undefined) {
              stats = yield* ingestConversation(conversation).pipe(Effect.provideService(Memory, memory))
              ingested.set(conversation.sampleId, stats)
            }
            const scope = scopeOf(conversation)
            const users = Array.from(new Set([conversation.speakerA, conversation.speakerB].map(senderIdOf)))
            const ready: ConversationRetriever<E> = {
              retrieve: (question, depth) =>
                Effect.forEach(
                  users,
                  (user_id) =>
                    search({ ...scope, user_id, query: question, top_k: Math.min(depth, ENGRAM_TOP_K), max_tokens: ENGRAM_CONTEXT_TOKENS }),
                  { concurrency: "unbounded" }
                ).pipe(Effect.map((answers) => (reading === "context" ? mergeContexts(answers) : mergeAnswers(answers, depth)))),
              details: segmentDetails(stats.memcellSizes)
            }
            return ready
          })
      }
      return retriever
    })
  })
