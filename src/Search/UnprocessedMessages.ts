import { Effect } from "effect"
import { type FilterTree, pinnedSession } from "../Domain/Filters.js"
import { type SearchRequest, TOP_K_ALL_CAP, type UnprocessedMessage } from "../Domain/SearchRequest.js"
import type { Lexicon } from "../Text/Lexicon.js"
import type { BufferedMessage, OwnerScope, SearchRepo } from "./SearchRepo.js"

export const makeUnprocessedMessages = (repo: SearchRepo, lexicon: Lexicon) => {
  /**
   * Buffered messages: all of the session a top-level `session_id` filter pins (conversation
   * order), else those of the owner's buffered sessions sharing a term with the query (most
   * shared terms first, then newest).
   */
  const unprocessed = (request: SearchRequest, scope: OwnerScope, filters: FilterTree | undefined, limit: number) =>
    Effect.gen(function*() {
      const pinned = pinnedSession(request.filters)
      const present = (m: BufferedMessage): UnprocessedMessage => ({
        message_id: m.message_id,
        session_id: m.session_id,
        sender_id: m.sender_id,
        role: m.role,
        timestamp: m.timestamp,
        content: m.content
      })
      if (pinned !== undefined) return (yield* repo.sessionBuffered(scope, pinned, filters, TOP_K_ALL_CAP)).map(present)
      const queryTerms = new Set(lexicon.terms(request.query))
      if (queryTerms.size === 0) return []
      const scored = (yield* repo.ownerBuffered(scope, filters)).flatMap((message) => {
        const shared = new Set(lexicon.terms(message.content).filter((term) => queryTerms.has(term))).size
        return shared > 0 ? [{ message, shared }] : []
      })
      return scored
        .sort((a, b) => b.shared - a.shared || b.message.timestamp - a.message.timestamp)
        .slice(0, limit)
        .map(({ message }) => present(message))
    })

  return { unprocessed } as const
}
