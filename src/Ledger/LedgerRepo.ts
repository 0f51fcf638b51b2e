import { SqlClient, SqlSchema } from "@effect/sql"
import { Array as Arr, Clock, Effect, Schema } from "effect"
import { MessageIdConflict } from "../Domain/Errors.js"
import { type IncomingMessage, MessageContent, ScopeId, type SessionKey, sessionKeyString, StoredMessage, ToolCalls } from "../Domain/Message.js"
import { canonicalJson } from "./MessageIdentity.js"
import { withBusyRetry } from "../Storage/Database.js"
import { indexedBy } from "../Storage/Dialect.js"
import { GroupCommit } from "../Storage/GroupCommit.js"
import type { SeenMark } from "./SeenMark.js"


/** A validated message with everything the ledger needs computed up front (outside any transaction). */
export interface PreparedMessage {
  readonly message_id: string
  readonly fingerprint: string
  readonly token_count: number
  readonly message: IncomingMessage
}

/** A message as `engram export` wrote it (every column but `seq`). */
export interface ImportedMessage extends Omit<typeof StoredMessage.Type, "seq"> {
  readonly fingerprint: string
  readonly received_at: number
  readonly boundary_seen: 0 | 1 | 2
}

/** A `messages` row: the stored message, with content and tool calls as the JSON text they are stored as. */
const MessageRow = Schema.Struct({
  ...StoredMessage.fields,
  content: Schema.parseJson(MessageContent),
  tool_calls: Schema.NullOr(Schema.parseJson(ToolCalls))
})

/** Sessions whose decoded buffer rows are kept between reads, and the tokens of text they may hold in all. */
const DECODED_SESSIONS = 1024
const DECODED_TOKENS = 4_000_000
/** Rows fetched by seq per statement (bound parameters stay far below either engine's limit). */
const FETCH_CHUNK = 500

const SeqRow = Schema.Struct({ seq: StoredMessage.fields.seq, boundary_seen: Schema.Literal(0, 1, 2) })

const SessionScope = Schema.Struct({ app_id: ScopeId, project_id: ScopeId, session_id: Schema.String })

const ExistingRow = Schema.Struct({ message_id: Schema.String, session_id: Schema.String, fingerprint: Schema.String })

/**
 * The durable message ledger. Every accepted message is one row; a session's buffer is the set of
 * its rows that no memcell has consumed yet.
 */
export class LedgerRepo extends Effect.Service<LedgerRepo>()("engram/LedgerRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const groupCommit = yield* GroupCommit

    /** A session's buffer as seqs (with the boundary marks), in conversation order: the light half of a buffer read. */
    const selectBufferOrder = SqlSchema.findAll({
      Request: SessionScope,
      Result: SeqRow,
      execute: (key) =>
        sql`SELECT seq, boundary_seen FROM messages
            WHERE app_id = ${key.app_id} AND project_id = ${key.project_id} AND session_id = ${key.session_id}
              AND memcell_id IS NULL
            ORDER BY timestamp, seq`
    })

    const selectRows = SqlSchema.findAll({
      Request: Schema.Array(Schema.Number),
      Result: MessageRow,
      execute: (seqs) =>
        sql`SELECT seq, message_id, app_id, project_id, session_id, sender_id, sender_name, role, timestamp,
                   content, tool_calls, tool_call_id, token_count, memcell_id
            FROM messages WHERE ${sql.in("seq", seqs)}`
    })

    /**
     * Buffered rows already decoded, per session (least recently read first out, bounded in
     * sessions and in tokens of text). A row's columns never change while it is buffered, and a
     * seq is never reused, so a row is fetched and decoded once however many adds read the buffer.
     */
    const decoded = new Map<string, { readonly rows: ReadonlyMap<number, StoredMessage>; readonly tokens: number }>()
    let decodedTokens = 0

    const keepDecoded = (name: string, rows: ReadonlyMap<number, StoredMessage>) => {
      const previous = decoded.get(name)
      if (previous !== undefined) decodedTokens -= previous.tokens
      decoded.delete(name)
      let tokens = 0
      for (const row of rows.values()) tokens += row.token_count
      decoded.set(name, { rows, tokens })
      decodedTokens += tokens
      for (const [oldest, entry] of decoded) {
        if (decoded.size <= DECODED_SESSIONS && decodedTokens <= DECODED_TOKENS) break
        decodedTokens -= entry.tokens
        decoded.delete(oldest)
      }
    }

    /**
     * The SQL that stores a batch, to run inside a transaction; answers how many were new.
     * Messages already in the ledger with the same identity are skipped (a retry); the same id
     * with other content or in another session fails the whole batch, so nothing of a
     * conflicting request is stored.
     */
    const storeBatch = (key: SessionKey, batch: ReadonlyArray<PreparedMessage>, receivedAt: number) => {
      const rows = batch.map((p) => ({
        app_id: key.app_id,
        project_id: key.project_id,
        message_id: p.message_id,
        session_id: key.session_id,
        sender_id: p.message.sender_id,
        sender_name: p.message.sender_name ?? null,
        role: p.message.role,
        timestamp: p.message.timestamp,
        content: canonicalJson(p.message.content),
        tool_calls: p.message.tool_calls === undefined ? null : canonicalJson(p.message.tool_calls),
        tool_call_id: p.message.tool_call_id ?? null,
        fingerprint: p.fingerprint,
        token_count: p.token_count,
        received_at: receivedAt
      }))
      return Effect.gen(function*() {
        const inserted = yield* sql<{ message_id: string }>`
          INSERT INTO messages ${sql.insert(rows)}
          ON CONFLICT (app_id, project_id, message_id) DO NOTHING
          RETURNING message_id`
        if (inserted.length === batch.length) return inserted.length
        yield* checkSkipped(key, batch, new Set(inserted.map((r) => r.message_id)))
        return inserted.length
      })
    }

    /** Stores a batch in the next shared transaction (see `storeBatch`) and returns how many were new. */
    const ingest = Effect.fn("LedgerRepo.ingest")(function*(key: SessionKey, batch: ReadonlyArray<PreparedMessage>) {
      const receivedAt = yield* Clock.currentTimeMillis
      // Shared with concurrent requests' writes: one transaction, one fsync (see GroupCommit).
      return yield* groupCommit.run("store messages", storeBatch(key, batch, receivedAt))
    })

    const selectExisting = (key: SessionKey, ids: ReadonlyArray<string>) =>
      sql`SELECT message_id, session_id, fingerprint FROM messages ${indexedBy(sql, "messages_identity")}
          WHERE app_id = ${key.app_id} AND project_id = ${key.project_id} AND ${sql.in("message_id", ids)}`.pipe(
        Effect.flatMap((rows) => Effect.orDie(Schema.decodeUnknown(Schema.Array(ExistingRow))(rows)))
      )

    /** A skipped message must be the very same message as the stored one, or the batch is refused. */
    const checkSkipped = (key: SessionKey, batch: ReadonlyArray<PreparedMessage>, inserted: ReadonlySet<string>) =>
      Effect.gen(function*() {
        const skipped = batch.filter((p) => !inserted.has(p.message_id))
        const existing = new Map(
          (yield* selectExisting(key, Arr.dedupe(skipped.map((p) => p.message_id)))).map((r) => [r.message_id, r])
        )
        for (const [index, p] of batch.entries()) {
          const row = existing.get(p.message_id)
          if (row === undefined) continue
          if (row.session_id !== key.session_id) {
            return yield* new MessageIdConflict({
              message_id: p.message_id,
              index,
              reason: "is already used by another session of this app and project"
            })
          }
          if (row.fingerprint !== p.fingerprint) {
            return yield* new MessageIdConflict({
              message_id: p.message_id,
              index,
              reason: "is already stored with different content"
            })
          }
        }
      })

    /**
     * A session's buffered messages in conversation order, with the boundary marks of those the
     * model already judged (unlisted: unseen). Reads the buffer's seqs and marks, then only the
     * rows not decoded before: an add costs its own rows plus one light index read, not a decode
     * of the whole buffer. A row consumed between the two reads is still returned (the buffer a
     * moment earlier); the commit's compare-and-set refuses a plan that used it.
     */
    const bufferAndMarks = Effect.fn("LedgerRepo.buffer")(function*(key: SessionKey) {
      const order = yield* selectBufferOrder(key).pipe(Effect.catchTag("ParseError", Effect.die), withBusyRetry("read buffer"))
      const name = sessionKeyString(key)
      const known = decoded.get(name)?.rows ?? new Map<number, StoredMessage>()
      const missing = order.flatMap((row) => known.has(row.seq) ? [] : [row.seq])
      const fetched = yield* Effect.forEach(Arr.chunksOf(missing, FETCH_CHUNK), (seqs) => selectRows(seqs)).pipe(
        Effect.catchTag("ParseError", Effect.die),
        withBusyRetry("read buffer")
      )
      const rows = new Map<number, StoredMessage>()
      for (const row of fetched.flat()) rows.set(row.seq, row)
      const messages: Array<StoredMessage> = []
      const marks = new Map<string, SeenMark>()
      for (const { boundary_seen, seq } of order) {
        const row = known.get(seq) ?? rows.get(seq)
        if (row === undefined) continue // deleted between the two reads
        rows.set(seq, row)
        messages.push(row)
        if (boundary_seen > 0) marks.set(row.message_id, boundary_seen === 2 ? "topic_done" : "seen")
      }
      keepDecoded(name, rows)
      return { messages, marks: marks as ReadonlyMap<string, SeenMark> }
    })

    const buffer = (key: SessionKey) => Effect.map(bufferAndMarks(key), ({ messages }) => messages)

    /** Sessions holding buffered messages none of which arrived after `cutoff` (epoch ms). */
    const idleSessions = Effect.fn("LedgerRepo.idleSessions")(function*(cutoff: number) {
      const rows = yield* sql`
        SELECT app_id, project_id, session_id FROM messages
        WHERE memcell_id IS NULL
        GROUP BY app_id, project_id, session_id
        HAVING MAX(received_at) <= ${cutoff}`.pipe(withBusyRetry("find idle sessions"))
      return yield* Schema.decodeUnknown(Schema.Array(SessionScope))(rows).pipe(Effect.orDie)
    })

    /** The messages of a memcell, in conversation order. */
    const ofMemcell = Effect.fn("LedgerRepo.ofMemcell")(function*(memcellId: string) {
      const rows = yield* sql`
        SELECT seq, message_id, app_id, project_id, session_id, sender_id, sender_name, role, timestamp,
               content, tool_calls, tool_call_id, token_count, memcell_id
        FROM messages WHERE memcell_id = ${memcellId}
        ORDER BY timestamp, seq`.pipe(withBusyRetry("read memcell messages"))
      return yield* Schema.decodeUnknown(Schema.Array(MessageRow))(rows).pipe(Effect.orDie)
    })

    /** Buffered messages across all sessions (for /metrics). */
    const countBuffered = sql<{ n: number }>`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM messages WHERE memcell_id IS NULL`.pipe(
      Effect.map((rows) => rows[0]?.n ?? 0),
      withBusyRetry("count buffered messages")
    )

    /**
     * `engram import`: stores exported messages as they were (memcell assignment and boundary
     * marks included). A message whose id is already in its scope is left as it is, so importing
     * twice changes nothing. Answers how many were new.
     */
    const importMessages = Effect.fn("LedgerRepo.importMessages")(function*(rows: ReadonlyArray<ImportedMessage>) {
      if (rows.length === 0) return 0
      const inserted = yield* sql<{ message_id: string }>`
        INSERT INTO messages ${
        sql.insert(rows.map((m) => ({
          ...m,
          content: canonicalJson(m.content),
          tool_calls: m.tool_calls === null ? null : canonicalJson(m.tool_calls)
        })))
      }
        ON CONFLICT (app_id, project_id, message_id) DO NOTHING
        RETURNING message_id`.pipe(sql.withTransaction, withBusyRetry("import messages"))
      return inserted.length
    })

    return { ingest, storeBatch, buffer, bufferAndMarks, idleSessions, countBuffered, ofMemcell, importMessages } as const
  }),
  dependencies: [GroupCommit.Default]
}) {}
