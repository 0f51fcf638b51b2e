import { Effect } from "effect"
import type { AddRequest, IncomingMessage, SessionKey } from "../../src/Domain/Message.js"
import { DEFAULT_SCOPE_ID } from "../../src/Domain/Message.js"
import type { Memory } from "../../src/Memorize/Memory.js"

export const BASE_TS = 1_700_000_000_000

export const userMessage = (index: number, sender: string, timestamp: number, extra: Partial<IncomingMessage> = {}): IncomingMessage => ({
  sender_id: sender,
  role: "user",
  timestamp,
  content: `msg-${index} from ${sender}`,
  ...extra
})

export const keyOf = (session_id: string): SessionKey => ({
  app_id: DEFAULT_SCOPE_ID,
  project_id: DEFAULT_SCOPE_ID,
  session_id
})

export const addRequest = (session_id: string, messages: ReadonlyArray<IncomingMessage>): AddRequest => ({
  ...keyOf(session_id),
  messages
})

/**
 * Where every message id of a session is: the invariant is that each accepted id is in exactly one
 * place. Returns all ids found (with repeats, so duplicates show) plus the buffer / memcell split.
 */
export const locateIds = (memory: Memory, session_id: string) =>
  Effect.map(memory.session(keyOf(session_id)), (session) => {
    const buffered = session.buffered.map((m) => m.message_id)
    const inCells = session.memcells.flatMap((c) => c.message_ids)
    return { buffered, inCells, all: [...buffered, ...inCells], memcells: session.memcells }
  })
