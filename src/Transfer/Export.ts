import { SqlClient, type SqlError, type Statement } from "@effect/sql"
import { Clock, Effect, Option, Schema } from "effect"
import { EXTRACTION_KINDS, COMBINED_EXTRACTION_KINDS, JobKind } from "../Domain/Job.js"
import type { StorageError } from "../Domain/Errors.js"
import { withBusyRetry } from "../Storage/Database.js"
import {
  EpisodeRow,
  EXPORT_FORMAT_VERSION,
  type ExportLine,
  ExportLine as ExportLineSchema,
  type ExportScope,
  FactRow,
  ForesightRow,
  MemcellRow,
  MessageRow
} from "./Records.js"

/** Rows read per query: the export never holds more than one page of a table in memory. */
const PAGE = 500

/** Kinds an importer may enqueue again (extraction only: embedding jobs follow their rows). */
const REPLAYABLE_KINDS = new Set<string>([...EXTRACTION_KINDS, ...COMBINED_EXTRACTION_KINDS])

export interface ExportProgress {
  readonly done: number
  readonly total: number
}

/**
 * `engram export`: a scope (or everything) as JSON Lines, streamed in pages with keyset paging
 * (plain SQL, either engine). `write` receives each page's lines; `progress` is told after each.
 */
export class Exporter extends Effect.Service<Exporter>()("engram/Exporter", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const encodeLine = Schema.encode(Schema.parseJson(ExportLineSchema))

    const inScope = (scope: Option.Option<ExportScope>) =>
      Option.match(scope, {
        onNone: () => [],
        onSome: (s) => [sql`app_id = ${s.app_id}`, sql`project_id = ${s.project_id}`]
      })

    const countOf = (table: string, scope: Option.Option<ExportScope>) =>
      sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM ${sql(table)} WHERE ${sql.and([sql`1 = 1`, ...inScope(scope)])}`.pipe(
        Effect.map((rows) => Number(rows[0]?.n ?? 0))
      )

    /** Pages of `table` ordered by its key column, each decoded with `schema`. */
    const pages = <A, I>(
      table: string,
      key: string,
      columns: string,
      schema: Schema.Schema<A, I>,
      scope: Option.Option<ExportScope>,
      keyOf: (row: A) => string | number,
      each: (rows: ReadonlyArray<A>) => Effect.Effect<void, StorageError>
    ) =>
      pagesBy(table, sql`${sql(key)}`, columns, schema, scope, (row) => sql`${sql(key)} > ${keyOf(row)}`, each)

    /** Keyset paging: `after(last row)` is the condition for the next page, in `orderBy` order. */
    const pagesBy = <A, I>(
      table: string,
      orderBy: Statement.Fragment,
      columns: string,
      schema: Schema.Schema<A, I>,
      scope: Option.Option<ExportScope>,
      after: (row: A) => Statement.Fragment,
      each: (rows: ReadonlyArray<A>) => Effect.Effect<void, StorageError>
    ) =>
      Effect.gen(function*() {
        let next: Option.Option<Statement.Fragment> = Option.none()
        while (true) {
          const conditions = [...inScope(scope), ...Option.toArray(next)]
          const raw = yield* sql`SELECT ${sql.literal(columns)} FROM ${sql(table)}
                                  WHERE ${sql.and([sql`1 = 1`, ...conditions])}
                                  ORDER BY ${orderBy} LIMIT ${PAGE}`
          const rows = yield* Schema.decodeUnknown(Schema.Array(schema))(raw).pipe(Effect.orDie)
          if (rows.length === 0) return
          yield* each(rows)
          if (rows.length < PAGE) return
          next = Option.some(after(rows[rows.length - 1]!))
        }
      })

    /** Extraction jobs of these memcells that were not done: the importer enqueues them again. */
    const pendingJobs = (memcellIds: ReadonlyArray<string>) =>
      sql<{ memcell_id: string; kind: string }>`
        SELECT memcell_id, kind FROM extraction_jobs
        WHERE ${sql.in("memcell_id", memcellIds)} AND status <> 'done'`.pipe(
        Effect.flatMap((rows) => Schema.decodeUnknown(Schema.Array(Schema.Struct({ memcell_id: Schema.String, kind: JobKind })))(rows)),
        Effect.orDie,
        Effect.map((rows) => {
          const byCell = new Map<string, Array<JobKind>>()
          for (const row of rows) {
            if (!REPLAYABLE_KINDS.has(row.kind)) continue
            byCell.set(row.memcell_id, [...(byCell.get(row.memcell_id) ?? []), row.kind])
          }
          return byCell
        })
      )

    const run = Effect.fn("Exporter.run")(function*(
      scope: Option.Option<ExportScope>,
      write: (lines: ReadonlyArray<string>) => Effect.Effect<void, StorageError>,
      progress: (progress: ExportProgress) => Effect.Effect<void>
    ) {
      const tables = ["messages", "memcells", "episodes", "atomic_facts", "foresight"] as const
      const counts = yield* Effect.forEach(tables, (table) => countOf(table, scope)).pipe(withBusyRetry("count rows"))
      const total = counts.reduce((a, b) => a + b, 0)
      let done = 0
      const emit = (lines: ReadonlyArray<ExportLine>) =>
        Effect.gen(function*() {
          const text = yield* Effect.forEach(lines, (line) => encodeLine(line)).pipe(Effect.orDie)
          yield* write(text)
          done += lines.length
          yield* progress({ done, total })
        })

      yield* write([
        yield* encodeLine({
          _tag: "engram_export",
          version: EXPORT_FORMAT_VERSION,
          exported_at: yield* Clock.currentTimeMillis,
          scope: Option.getOrNull(scope)
        }).pipe(Effect.orDie)
      ])
      const read = <E>(effect: Effect.Effect<void, E | SqlError.SqlError>) => withBusyRetry("export")(effect)
      yield* read(pages(
        "messages",
        "seq",
        "seq, app_id, project_id, message_id, session_id, sender_id, sender_name, role, timestamp, content, tool_calls, tool_call_id, fingerprint, token_count, received_at, memcell_id, boundary_seen",
        Schema.Struct({ ...MessageRow.fields, seq: Schema.Number }),
        scope,
        (row) => row.seq,
        (rows) => emit(rows.map(({ seq: _seq, ...row }) => ({ _tag: "message" as const, ...row })))
      ))
      // In creation order (a session lists its memcells so): commit time, then conversation order.
      yield* read(pagesBy(
        "memcells",
        sql`created_at, timestamp, memcell_id`,
        "memcell_id, app_id, project_id, session_id, message_ids, sender_ids, timestamp, created_at",
        MemcellRow,
        scope,
        (row) =>
          sql`(created_at > ${row.created_at} OR (created_at = ${row.created_at} AND (timestamp > ${row.timestamp}
               OR (timestamp = ${row.timestamp} AND memcell_id > ${row.memcell_id}))))`,
        (rows) =>
          Effect.gen(function*() {
            const pending = yield* pendingJobs(rows.map((row) => row.memcell_id)).pipe(withBusyRetry("read pending jobs"))
            yield* emit(rows.map((row) => ({ _tag: "memcell" as const, ...row, pending_jobs: pending.get(row.memcell_id) ?? [] })))
          })
      ))
      yield* read(pages(
        "episodes",
        "episode_id",
        "episode_id, memcell_id, app_id, project_id, session_id, user_id, title, content, summary, sender_ids, message_ids, timestamp, created_at, extractor",
        EpisodeRow,
        scope,
        (row) => row.episode_id,
        (rows) => emit(rows.map((row) => ({ _tag: "episode" as const, ...row })))
      ))
      yield* read(pages(
        "atomic_facts",
        "fact_id",
        "fact_id, episode_id, memcell_id, app_id, project_id, session_id, user_id, content, message_ids, timestamp, created_at, extractor",
        FactRow,
        scope,
        (row) => row.fact_id,
        (rows) => emit(rows.map((row) => ({ _tag: "fact" as const, ...row })))
      ))
      yield* read(pages(
        "foresight",
        "foresight_id",
        "foresight_id, memcell_id, app_id, project_id, session_id, user_id, content, start_time, end_time, evidence, message_ids, timestamp, created_at, extractor",
        ForesightRow,
        scope,
        (row) => row.foresight_id,
        (rows) => emit(rows.map((row) => ({ _tag: "foresight" as const, ...row })))
      ))
      return { lines: done, total }
    })

    return { run } as const
  })
}) {}
