import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted, Schema } from "effect"
import { COMBINED_EXTRACTION_KINDS, EXTRACTION_KINDS, TrackJobKind } from "../../src/Domain/Job.js"

/**
 * Reads a stopped server's database (a SQLite file, read-only, or a Postgres database) and lists every way it breaks the ledger's
 * promises: each message in exactly one place, memcells and their messages agreeing, each memcell
 * with exactly one job per kind, and (once extraction ran) exactly one episode per user sender.
 */

const MessageRow = Schema.Struct({
  app_id: Schema.String,
  project_id: Schema.String,
  session_id: Schema.String,
  message_id: Schema.String,
  sender_id: Schema.String,
  role: Schema.String,
  memcell_id: Schema.NullOr(Schema.String)
})

const MemcellRow = Schema.Struct({
  memcell_id: Schema.String,
  app_id: Schema.String,
  project_id: Schema.String,
  session_id: Schema.String,
  message_ids: Schema.parseJson(Schema.Array(Schema.String))
})

const JobRow = Schema.Struct({ job_id: Schema.String, memcell_id: Schema.String, kind: Schema.String, status: Schema.String })
const EpisodeRow = Schema.Struct({ memcell_id: Schema.String, user_id: Schema.String })

export interface LedgerSnapshot {
  /** SQLite's `PRAGMA integrity_check`; absent on Postgres, which has no such check. */
  readonly integrity?: ReadonlyArray<string>
  readonly messages: ReadonlyArray<typeof MessageRow.Type>
  readonly memcells: ReadonlyArray<typeof MemcellRow.Type>
  readonly jobs: ReadonlyArray<typeof JobRow.Type>
  readonly episodes: ReadonlyArray<typeof EpisodeRow.Type>
}

/** The tables the audit needs, through whichever client is provided. */
const readTables = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const all = <A, I>(schema: Schema.Schema<A, I>, rows: ReadonlyArray<unknown>) =>
    Schema.decodeUnknown(Schema.Array(schema))(rows).pipe(Effect.orDie)
  const messages = yield* all(
    MessageRow,
    yield* sql`SELECT app_id, project_id, session_id, message_id, sender_id, role, memcell_id FROM messages ORDER BY seq`
  )
  const memcells = yield* all(MemcellRow, yield* sql`SELECT memcell_id, app_id, project_id, session_id, message_ids FROM memcells`)
  const jobs = yield* all(JobRow, yield* sql`SELECT job_id, memcell_id, kind, status FROM extraction_jobs`)
  const episodes = yield* all(EpisodeRow, yield* sql`SELECT memcell_id, user_id FROM episodes`)
  return { messages, memcells, jobs, episodes }
})

/** Everything the audit needs, read from `file` with a read-only connection. */
export const readLedger = (file: string): Effect.Effect<LedgerSnapshot> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const integrity = (yield* sql<{ integrity_check: string }>`PRAGMA integrity_check`).map((row) => row.integrity_check)
    return { integrity, ...(yield* readTables) }
  }).pipe(
    Effect.provide(SqliteClient.layer({ filename: file, readonly: true })),
    Effect.orDie
  )

/** The same from the Postgres database at `url` (after the servers on it stopped). */
export const readPostgresLedger = (url: string): Effect.Effect<LedgerSnapshot> =>
  readTables.pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })), Effect.orDie)

export interface AuditOptions {
  /** Also require every job done and one episode per user sender of every memcell. */
  readonly extracted: boolean
}

/** Human-readable violations; empty when the ledger keeps every promise. */
export const ledgerViolations = (ledger: LedgerSnapshot, options: AuditOptions): ReadonlyArray<string> => {
  const problems: Array<string> = []
  if (ledger.integrity !== undefined && ledger.integrity.join(",") !== "ok") problems.push(`integrity_check: ${ledger.integrity.join("; ")}`)

  const scoped = (r: { app_id: string; project_id: string }, id: string) => `${r.app_id}/${r.project_id}/${id}`
  const messagesByKey = new Map(ledger.messages.map((m) => [scoped(m, m.message_id), m]))
  if (messagesByKey.size !== ledger.messages.length) problems.push("a message id is stored twice in one scope")

  const cellOf = new Map<string, string>()
  for (const cell of ledger.memcells) {
    for (const id of cell.message_ids) {
      const key = scoped(cell, id)
      const earlier = cellOf.get(key)
      if (earlier !== undefined) problems.push(`${key} is in memcells ${earlier} and ${cell.memcell_id}`)
      cellOf.set(key, cell.memcell_id)
      const message = messagesByKey.get(key)
      if (message === undefined) problems.push(`memcell ${cell.memcell_id} lists ${key}, which is not in the ledger`)
      else if (message.memcell_id !== cell.memcell_id) {
        problems.push(`memcell ${cell.memcell_id} lists ${key}, whose row points at ${message.memcell_id}`)
      } else if (message.session_id !== cell.session_id) problems.push(`${key} is in a memcell of another session`)
    }
  }
  const memcellIds = new Set(ledger.memcells.map((c) => c.memcell_id))
  for (const message of ledger.messages) {
    if (message.memcell_id !== null && !memcellIds.has(message.memcell_id)) {
      problems.push(`${scoped(message, message.message_id)} points at missing memcell ${message.memcell_id}`)
    }
    if (message.memcell_id !== null && cellOf.get(scoped(message, message.message_id)) !== message.memcell_id) {
      problems.push(`${scoped(message, message.message_id)} is consumed by ${message.memcell_id}, whose list lacks it`)
    }
  }

  const jobsOf = new Map<string, Array<typeof JobRow.Type>>()
  for (const job of ledger.jobs) jobsOf.set(job.memcell_id, [...(jobsOf.get(job.memcell_id) ?? []), job])
  const episodesOf = new Map<string, Array<string>>()
  for (const episode of ledger.episodes) episodesOf.set(episode.memcell_id, [...(episodesOf.get(episode.memcell_id) ?? []), episode.user_id])
  for (const cell of ledger.memcells) {
    const cellJobs = jobsOf.get(cell.memcell_id) ?? []
    const isTrack = (kind: string) => TrackJobKind.literals.some((track) => track === kind)
    const kinds = cellJobs.map((j) => j.kind).filter((kind) => !isTrack(kind)).sort()
    // The tracks' jobs follow the extraction, at most one of each kind per memcell.
    const trackKinds = cellJobs.map((j) => j.kind).filter(isTrack)
    if (new Set(trackKinds).size !== trackKinds.length) problems.push(`memcell ${cell.memcell_id} has track jobs [${trackKinds}]`)
    // Exactly one outbox: one job per kind, or the single job that extracts all three.
    const outboxes = [EXTRACTION_KINDS, COMBINED_EXTRACTION_KINDS].map((outbox) => [...outbox].sort().join(","))
    if (!outboxes.includes(kinds.join(","))) problems.push(`memcell ${cell.memcell_id} has jobs [${kinds}]`)
    if (!options.extracted) continue
    const notDone = (jobsOf.get(cell.memcell_id) ?? []).filter((j) => j.status !== "done")
    if (notDone.length > 0) problems.push(`memcell ${cell.memcell_id} has unfinished jobs ${notDone.map((j) => `${j.kind}:${j.status}`)}`)
    const users = [
      ...new Set(cell.message_ids.flatMap((id) => {
        const m = messagesByKey.get(scoped(cell, id))
        return m !== undefined && m.role === "user" ? [m.sender_id] : []
      }))
    ].sort()
    const episodeUsers = [...(episodesOf.get(cell.memcell_id) ?? [])].sort()
    if (episodeUsers.join(",") !== users.join(",")) {
      problems.push(`memcell ${cell.memcell_id} has episodes for [${episodeUsers}], user senders [${users}]`)
    }
  }
  return problems
}

/** One client add in a crash test: its ids and how it ended (accepted: 2xx; unknown: the connection broke first). */
export interface AddAttempt {
  readonly ids: ReadonlyArray<string>
  readonly outcome: "pending" | "accepted" | "refused" | "unknown"
}

/**
 * What the promise forbids, given how often each id appears in the sessions' memcells and buffers
 * (`present`) after a crash run: an id in two places, an acknowledged id missing, a batch without
 * an answer stored in part, a refused add, an id nobody sent. Empty when the promise held.
 */
export const acknowledgementViolations = (
  present: ReadonlyMap<string, number>,
  attempts: ReadonlyArray<AddAttempt>
): ReadonlyArray<string> => {
  const violations: Array<string> = []
  for (const [id, count] of present) if (count !== 1) violations.push(`${id} is in ${count} places`)
  for (const attempt of attempts) {
    const stored = attempt.ids.filter((id) => present.has(id))
    if (attempt.outcome === "accepted" && stored.length < attempt.ids.length) {
      violations.push(`acknowledged ids missing: ${attempt.ids.filter((id) => !present.has(id)).join(", ")}`)
    }
    if (attempt.outcome === "unknown" && stored.length !== 0 && stored.length !== attempt.ids.length) {
      violations.push(`a batch without an answer was stored in part: ${stored.join(", ")}`)
    }
    if (attempt.outcome === "refused") violations.push(`refused add: ${attempt.ids.join(", ")}`)
  }
  const attempted = new Set(attempts.flatMap((a) => a.ids))
  for (const id of present.keys()) if (!attempted.has(id)) violations.push(`${id} was never sent`)
  return violations
}
