/**
 * Longest message text copied whole into derived memory (episode transcripts, passages). Derived
 * text is indexed by FTS5 (Porter and trigram) inside one synchronous SQLite transaction, so a
 * 2 MB message would stall the event loop for seconds per copy; the message itself stays whole
 * in the ledger and in `POST /memory/get` sources.
 */
export const MAX_DERIVED_MESSAGE_CHARS = 32_000

/** `text`, or its beginning with a note of how much was left out. */
export const clipLongText = (text: string, max: number = MAX_DERIVED_MESSAGE_CHARS): string =>
  text.length <= max ? text : `${text.slice(0, max)} … (${text.length - max} more characters)`
