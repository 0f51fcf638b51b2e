import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { messageText, type StoredMessage } from "../Domain/Message.js"
import { clipLongText } from "../Text/Clip.js"

/** Neighbours on each side a passage's indexed window spans (within its memcell). */
export const PASSAGE_RADIUS = 1

/** The day a line is dated with: `2024-05-06` (UTC). */
export const lineDay = (timestamp: number) => new Date(timestamp).toISOString().slice(0, 10)

/** A message as one excerpt line: `[2024-05-06] Alice: text` (UTC date; name, else sender id; long text clipped). */
export const passageLine = (message: StoredMessage): string =>
  `[${lineDay(message.timestamp)}] ${message.sender_name ?? message.sender_id}: ${
    clipLongText(messageText(message.content)).replace(/\s+/g, " ").trim()
  }`

/** The cell's messages worth a passage (text of a user or assistant), with their lines, in order. */
export const passageLines = (messages: ReadonlyArray<StoredMessage>) =>
  messages.filter((m) => m.role !== "tool" && messageText(m.content).trim().length > 0)
    .map((m) => ({ message_id: m.message_id, line: passageLine(m) }))

/** The text a passage is indexed (and embedded) by: its line and its neighbours' within `PASSAGE_RADIUS`. */
export const windowText = (lines: ReadonlyArray<{ readonly line: string }>, position: number): string =>
  lines.slice(Math.max(0, position - PASSAGE_RADIUS), position + PASSAGE_RADIUS + 1).map((l) => l.line).join("\n")

/**
 * The passage index (`passages`, `passages_fts`): per episode, one row per message of its memcell
 * with its line, full-text indexed together with its neighbours' lines. Written in the episode
 * rows' transaction; deleting an episode drops its passages (trigger), so a re-run replaces them.
 */
export class PassageIndex extends Effect.Service<PassageIndex>()("engram/PassageIndex", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** Indexes `messages` (the memcell's, in order) as the passages of one episode owned by `owner`. */
    const indexEpisode = (episodeId: string, owner: string, messages: ReadonlyArray<StoredMessage>) =>
      Effect.gen(function*() {
        const lines = passageLines(messages)
        if (lines.length === 0) return
        const inserted = yield* sql<{ passage_key: number; position: number }>`INSERT INTO passages ${
          sql.insert(lines.map((l, position) => ({ episode_id: episodeId, position, message_id: l.message_id, line: l.line })))
        } RETURNING passage_key, position`
        yield* sql`INSERT INTO passages_fts ${
          sql.insert(inserted.map((p) => ({
            rowid: p.passage_key,
            owner,
            content: windowText(lines, p.position)
          })))
        }`
      })

    return { indexEpisode } as const
  })
}) {}
