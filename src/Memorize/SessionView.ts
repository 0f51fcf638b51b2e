import type { Memcell } from "../Domain/Memcell.js"
import type { SessionKey, StoredMessage } from "../Domain/Message.js"

/** The public view of a session (HTTP and CLI): buffered messages and memcells, without internals. */
export const toSessionView = (session: SessionKey & {
  readonly buffered: ReadonlyArray<StoredMessage>
  readonly memcells: ReadonlyArray<Memcell>
}) => ({
  session_id: session.session_id,
  app_id: session.app_id,
  project_id: session.project_id,
  buffered: session.buffered.map(({ content, message_id, role, sender_id, timestamp }) => ({
    message_id,
    sender_id,
    role,
    timestamp,
    content
  })),
  memcells: session.memcells.map(({ memcell_id, message_ids, sender_ids, timestamp }) => ({
    memcell_id,
    message_ids,
    sender_ids,
    timestamp
  }))
})
