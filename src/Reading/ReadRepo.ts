import { SqlClient, type Statement } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { FilterField, FilterTree } from "../Domain/Filters.js"
import type { SortOrder } from "../Domain/GetRequest.js"
import {
  EPISODE_COLUMNS,
  EpisodeRow,
  FACT_COLUMNS,
  FactRow,
  FORESIGHT_COLUMNS,
  ForesightRow
} from "../Extraction/DerivedRows.js"
import { withBusyRetry } from "../Storage/Database.js"
import { compileFilterTree, type FieldColumn } from "../Storage/FilterSql.js"
import { unindexed } from "../Storage/Dialect.js"

/** One page of one user's derived memory. */
export interface ReadQuery {
  readonly app_id: string
  readonly project_id: string
  readonly user_id: string
  readonly filter: FilterTree | undefined
  readonly sort_by: "timestamp" | "created_at"
  readonly sort_order: SortOrder
  readonly limit: number
  readonly offset: number
}

export interface Page<A> {
  readonly rows: ReadonlyArray<A>
  /** Rows matching the query across all pages. */
  readonly total: number
}

const Count = Schema.Array(Schema.Struct({ n: Schema.Number }))

const SessionRow = Schema.Struct({
  session_id: Schema.String,
  user_messages: Schema.Number,
  user_messages_buffered: Schema.Number,
  first_timestamp: Schema.Number,
  last_timestamp: Schema.Number
})
export type SessionRow = typeof SessionRow.Type

/** One page of the sessions a user sent messages in. */
export interface SessionsQuery {
  readonly app_id: string
  readonly project_id: string
  readonly user_id: string
  readonly limit: number
  readonly offset: number
}

/**
 * `sender_id` means "took part in the source conversation" for every type: episodes carry the
 * memcell's senders; facts and foresight read them from their memcell (which outlives neither).
 */
const senderOfMemcell = (table: string): FieldColumn => ({
  jsonArray: `(SELECT m.sender_ids FROM memcells AS m WHERE m.memcell_id = ${table}.memcell_id)`
})

const columnsOf = (table: "episodes" | "atomic_facts" | "foresight"): Readonly<Record<FilterField, FieldColumn>> => ({
  session_id: { column: `${table}.session_id` },
  timestamp: { column: `${table}.timestamp` },
  sender_id: table === "episodes" ? { jsonArray: "episodes.sender_ids" } : senderOfMemcell(table)
})

/**
 * Reads of derived memory (episodes, atomic facts, foresight), always within one
 * (app, project, user). Each page and its total come from one read transaction, so they agree.
 */
export class ReadRepo extends Effect.Service<ReadRepo>()("engram/ReadRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const decode = <A, I>(schema: Schema.Schema<A, I>) => (rows: ReadonlyArray<unknown>) =>
      Effect.orDie(Schema.decodeUnknown(Schema.Array(schema))(rows))

    /** Scope, user, the compiled filter and any extra condition, for `table`. */
    const whereOf = (
      table: "episodes" | "atomic_facts" | "foresight",
      query: ReadQuery,
      extra: ReadonlyArray<Statement.Fragment> = []
    ) =>
      sql.and([
        sql`${sql.literal(table)}.app_id = ${query.app_id}`,
        sql`${sql.literal(table)}.project_id = ${query.project_id}`,
        sql`${sql.literal(table)}.user_id = ${query.user_id}`,
        ...(query.filter === undefined ? [] : [compileFilterTree(sql, query.filter, columnsOf(table))]),
        ...extra
      ])

    /** Column names come from the closed SortBy/SortOrder sets, never from input text. */
    const orderOf = (table: string, idColumn: string, query: ReadQuery) => {
      const direction = query.sort_order === "asc" ? "ASC" : "DESC"
      return sql.literal(`${table}.${query.sort_by} ${direction}, ${table}.${idColumn} ${direction}`)
    }

    const page = <A, I>(
      table: "episodes" | "atomic_facts" | "foresight",
      idColumn: string,
      columns: string,
      schema: Schema.Schema<A, I>,
      query: ReadQuery,
      extra: ReadonlyArray<Statement.Fragment> = []
    ) =>
      Effect.gen(function*() {
        const where = whereOf(table, query, extra)
        const rows = yield* sql`
          SELECT ${sql.literal(columns)} FROM ${sql.literal(table)} WHERE ${where}
          ORDER BY ${orderOf(table, idColumn, query)} LIMIT ${query.limit} OFFSET ${query.offset}`.pipe(
          Effect.flatMap(decode(schema))
        )
        const counted = yield* sql`SELECT COUNT(*) AS n FROM ${sql.literal(table)} WHERE ${where}`.pipe(
          Effect.flatMap((r) => Effect.orDie(Schema.decodeUnknown(Count)(r)))
        )
        return { rows, total: counted[0]?.n ?? 0 } satisfies Page<A>
      })

    /**
     * The facts of the given episodes (within the query's scope and user), in extraction order. The
     * unary `+` keeps SQLite on the episode index rather than walking all of the user's facts.
     */
    const factsOfEpisodes = (query: ReadQuery, episodeIds: ReadonlyArray<string>) =>
      episodeIds.length === 0
        ? Effect.succeed([] as ReadonlyArray<FactRow>)
        : sql`
          SELECT ${sql.literal(FACT_COLUMNS)} FROM atomic_facts
          WHERE ${unindexed(sql, "app_id")} = ${query.app_id} AND ${unindexed(sql, "project_id")} = ${query.project_id}
            AND ${unindexed(sql, "user_id")} = ${query.user_id}
            AND ${sql.in("episode_id", episodeIds)}
          ORDER BY rowid`.pipe(Effect.flatMap(decode(FactRow)))

    /** A page of episodes plus their facts, read in one transaction so they agree. */
    const episodes = Effect.fn("ReadRepo.episodes")(function*(query: ReadQuery) {
      const read = Effect.gen(function*() {
        const found = yield* page("episodes", "episode_id", EPISODE_COLUMNS, EpisodeRow, query)
        const facts = yield* factsOfEpisodes(query, found.rows.map((row) => row.episode_id))
        return { ...found, facts }
      })
      return yield* sql.withTransaction(read).pipe(withBusyRetry("read episodes"))
    })

    const facts = Effect.fn("ReadRepo.facts")(function*(query: ReadQuery) {
      return yield* sql.withTransaction(page("atomic_facts", "fact_id", FACT_COLUMNS, FactRow, query)).pipe(
        withBusyRetry("read atomic facts")
      )
    })

    /** With `validAt`, only items whose [start_time, end_time] contains it (a null end is open). */
    const foresight = Effect.fn("ReadRepo.foresight")(function*(query: ReadQuery, validAt: number | undefined) {
      const validity = validAt === undefined
        ? []
        : [sql`foresight.start_time <= ${validAt} AND (foresight.end_time IS NULL OR foresight.end_time >= ${validAt})`]
      return yield* sql.withTransaction(page("foresight", "foresight_id", FORESIGHT_COLUMNS, ForesightRow, query, validity)).pipe(
        withBusyRetry("read foresight")
      )
    })

    /**
     * The sessions `user_id` sent messages in, most recently active first, with counts of the
     * user's messages (all, and still buffered). Reads only the user's rows (`messages_by_sender`).
     */
    const sessions = Effect.fn("ReadRepo.sessions")(function*(query: SessionsQuery) {
      const where = sql`app_id = ${query.app_id} AND project_id = ${query.project_id} AND sender_id = ${query.user_id}`
      const read = Effect.gen(function*() {
        const rows = yield* sql`
          SELECT session_id, COUNT(*) AS user_messages, SUM(CASE WHEN memcell_id IS NULL THEN 1 ELSE 0 END) AS user_messages_buffered,
                 MIN(timestamp) AS first_timestamp, MAX(timestamp) AS last_timestamp
          FROM messages WHERE ${where}
          GROUP BY session_id
          ORDER BY last_timestamp DESC, session_id ASC
          LIMIT ${query.limit} OFFSET ${query.offset}`.pipe(Effect.flatMap(decode(SessionRow)))
        const counted = yield* sql`SELECT COUNT(DISTINCT session_id) AS n FROM messages WHERE ${where}`.pipe(
          Effect.flatMap((r) => Effect.orDie(Schema.decodeUnknown(Count)(r)))
        )
        return { rows, total: counted[0]?.n ?? 0 } satisfies Page<SessionRow>
      })
      return yield* sql.withTransaction(read).pipe(withBusyRetry("read sessions"))
    })

    return { episodes, facts, foresight, sessions } as const
  })
}) {}
