import type { Memcell } from "../../src/Domain/Memcell.js"
import type { StoredMessage } from "../../src/Domain/Message.js"

/** The memcell holding `messages` (all of one session, in order): for tests that write derived rows directly. */
export const memcellOf = (id: string, messages: ReadonlyArray<StoredMessage>): Memcell => ({
  memcell_id: id,
  app_id: messages[0]!.app_id,
  project_id: messages[0]!.project_id,
  session_id: messages[0]!.session_id,
  message_ids: messages.map((m) => m.message_id),
  sender_ids: [...new Set(messages.map((m) => m.sender_id))],
  timestamp: messages.at(-1)!.timestamp,
  created_at: messages.at(-1)!.timestamp
})
