/**
 * The two baselines Engram must beat: the retrieval a user would build without it.
 *
 * - `bm25-turns`: BM25 over single turns.
 * - `bm25-windows`: BM25 over windows of ±1 turn around every turn (inside one session), the
 *   simple RAG. A turn already shown by a better-ranked window is not shown again (no context
 *   builder pastes the same line twice), and a window with nothing new is dropped.
 *
 * Each turn reads as `[2023-05-08] Caroline: text [shared a photo: caption]`: the session date
 * (temporal questions need it; Engram's episodes carry dates too), the speaker and what was said.
 * Exactly that text is indexed (terms from `Lexicon`, the analysis Engram's search uses) and
 * counted against the word budgets.
 */
import { Effect } from "effect"
import { Lexicon } from "../Text/Lexicon.js"
import { makeBm25Index } from "./Bm25.js"
import type { ReturnedResult, ReturnedText } from "./EvidenceRecall.js"
import { type LocomoConversation, turnText } from "./LocomoData.js"
import type { ConversationRetriever, Retriever } from "./Retriever.js"

const isoDate = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 10)

/** The turns of a conversation as the baselines show them, grouped by session. */
export const shownTurns = (conversation: LocomoConversation): ReadonlyArray<ReadonlyArray<ReturnedText>> =>
  conversation.sessions.map((session) =>
    session.turns.map((turn) => ({
      text: `[${isoDate(session.startMs)}] ${turn.speaker}: ${turnText(turn)}`,
      message_ids: [turn.dia_id],
      kind: "text" as const
    }))
  )

/** Windows of `radius` turns either side of every turn, never crossing a session. */
export const turnWindows = (
  sessions: ReadonlyArray<ReadonlyArray<ReturnedText>>,
  radius: number
): ReadonlyArray<ReadonlyArray<ReturnedText>> =>
  sessions.flatMap((turns) =>
    turns.map((_, center) => turns.slice(Math.max(0, center - radius), Math.min(turns.length, center + radius + 1)))
  )

/** BM25 over `units` (each read as its parts); `dedupe` hides parts already shown higher up. */
const bm25Over = (
  lexicon: Lexicon,
  units: ReadonlyArray<ReadonlyArray<ReturnedText>>,
  dedupe: boolean
): ConversationRetriever<never> => {
  const index = makeBm25Index(units.map((parts) => parts.flatMap((part) => lexicon.terms(part.text))))
  const retrieve = (question: string, depth: number) =>
    Effect.sync(() => {
      const hits = index.search(lexicon.terms(question), dedupe ? Number.MAX_SAFE_INTEGER : depth)
      const shown = new Set<string>()
      const results: Array<ReturnedResult> = []
      for (const hit of hits) {
        if (results.length >= depth) break
        const parts = units[hit.index]!.filter((part) => !dedupe || part.message_ids.every((id) => !shown.has(id)))
        if (parts.length === 0) continue
        for (const part of parts) for (const id of part.message_ids) shown.add(id)
        results.push({ parts })
      }
      return results as ReadonlyArray<ReturnedResult>
    })
  return { retrieve }
}

export const makeTurnBaseline = Effect.map(Lexicon, (lexicon): Retriever<never> => ({
  name: "bm25-turns",
  description: "BM25 over single turns",
  prepare: (conversation) =>
    Effect.sync(() => bm25Over(lexicon, shownTurns(conversation).flat().map((turn) => [turn]), false))
}))

export const makeWindowBaseline = (radius = 1) =>
  Effect.map(Lexicon, (lexicon): Retriever<never> => ({
    name: "bm25-windows",
    description: `BM25 over windows of ±${radius} turn${radius === 1 ? "" : "s"}, turns shown once`,
    prepare: (conversation) => Effect.sync(() => bm25Over(lexicon, turnWindows(shownTurns(conversation), radius), true))
  }))
