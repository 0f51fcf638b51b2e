/**
 * What the boundary model already knows of a buffered message, stored with the message
 * (`messages.boundary_seen`): `unseen`; `seen` (it was in a window the model judged, and no cut
 * was made before it); `topic_done` (seen, and the model answered `should_wait: false` with this
 * message last: its topic looked finished, so whatever follows deserves a question at once).
 */
export type SeenMark = "unseen" | "seen" | "topic_done"

/** `messages.boundary_seen` values. */
export const SEEN_MARK_CODES: Readonly<Record<SeenMark, number>> = { unseen: 0, seen: 1, topic_done: 2 }
