import type { Effect } from "effect"
import type { ReturnedResult } from "./EvidenceRecall.js"
import type { LocomoConversation } from "./LocomoData.js"

/** A retriever ready to answer questions about one conversation. */
export interface ConversationRetriever<E> {
  /** At most `depth` ranked results for `question`, best first. */
  readonly retrieve: (question: string, depth: number) => Effect.Effect<ReadonlyArray<ReturnedResult>, E>
  /** Counts about the prepared conversation worth reporting (summed over conversations). */
  readonly details?: Readonly<Record<string, number>>
}

/**
 * What the eval compares: Engram (ingest through `Memory`, answer through search) and the
 * baselines. `prepare` indexes or ingests one conversation.
 */
export interface Retriever<E> {
  /** Short stable name used in tables and JSON (`engram`, `bm25-turns`, ...). */
  readonly name: string
  /** One line on what it is. */
  readonly description: string
  readonly prepare: (conversation: LocomoConversation) => Effect.Effect<ConversationRetriever<E>, E>
}
