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
import { ingestConversation, scopeOf, senderIdOf } from "./EngramIngest.js"
import type { ReturnedResult, ReturnedText } from "./EvidenceRecall.js"
import type { ConversationRetriever, Retriever } from "./Retriever.js"

/** The part of a search request the eval sets. */
export interface EvalSearchRequest {
  readonly user_id: string
  readonly app_id: string
  readonly project_id: string
  readonly query: string
  readonly top_k: number
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
}

export type EvalSearch<E> = (request: EvalSearchRequest) => Effect.Effect<EvalSearchAnswer, E>

/** Reads the answers of one question (one per speaker) as ranked results; pure. */
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

/** Turns in Engram's memcells, counted while ingesting. */
const segmentDetails = (sizes: ReadonlyArray<number>): Record<string, number> => ({
  memcells: sizes.length,
  memcell_messages: sizes.reduce((s, n) => s + n, 0),
  memcells_over_40_messages: sizes.filter((n) => n > 40).length
})

/** Engram behind `search`, on whatever `Memory` the context provides. */
export const makeEngramRetriever = <E>(name: string, description: string, search: EvalSearch<E>) =>
  Effect.map(Memory, (memory) => {
    const retriever: Retriever<E | Effect.Effect.Error<ReturnType<typeof ingestConversation>>> = {
      name,
      description,
      prepare: (conversation) =>
        Effect.gen(function*() {
          const stats = yield* ingestConversation(conversation).pipe(Effect.provideService(Memory, memory))
          const scope = scopeOf(conversation)
          const users = Array.from(new Set([conversation.speakerA, conversation.speakerB].map(senderIdOf)))
          const ready: ConversationRetriever<E> = {
            retrieve: (question, depth) =>
              Effect.forEach(users, (user_id) => search({ ...scope, user_id, query: question, top_k: Math.min(depth, ENGRAM_TOP_K) }), {
                concurrency: "unbounded"
              }).pipe(Effect.map((answers) => mergeAnswers(answers, depth))),
            details: segmentDetails(stats.memcellSizes)
          }
          return ready
        })
    }
    return retriever
  })
