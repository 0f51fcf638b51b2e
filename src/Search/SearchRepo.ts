import { SqlClient, type Statement } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { FilterField, FilterTree } from "../Domain/Filters.js"
import { MessageContent, messageText, Role } from "../Domain/Message.js"
import { withBusyRetry } from "../Storage/Database.js"
import { type FieldColumn, compileFilterTree } from "../Storage/FilterSql.js"
import { indexedBy, jsonArrayElements, orderedJoin } from "../Storage/Dialect.js"
import { porterMatch, trigramMatch } from "./KeywordQuery.js"
import type { VectorKind } from "../Indexing/VectorStore.js"
import { EPISODE_COLUMNS, EpisodeRow } from "../Extraction/DerivedRows.js"

/** Whose memory a search reads: strictly one owner (user or agent id) in one app and project. */
export interface OwnerScope {
  readonly app_id: string
  readonly project_id: string
  readonly owner: string
}

/** One ranked candidate: an episode (`id` = `episode_id`) or a fact (with its episode). */
export interface Hit {
  readonly id: string
  readonly episode_id: string
  /** Cosine similarity to the query's vector (vector hits only). */
  readonly similarity?: number
}

/** A keyword candidate with its bm25 (lower is better). */
const KeywordHit = Schema.Struct({ id: Schema.String, episode_id: Schema.String, rank: Schema.Number })
export type KeywordHit = typeof KeywordHit.Type

/** A keyword candidate passage: a message window of an episode (`position` in its memcell). */
const PassageHit = Schema.Struct({
  passage_key: Schema.Number,
  episode_id: Schema.String,
  position: Schema.Number,
  rank: Schema.Number
})
export type PassageHit = typeof PassageHit.Type

/** One stored excerpt line of an episode. */
const PassageLine = Schema.Struct({
  episode_id: Schema.String,
  position: Schema.Number,
  message_id: Schema.String,
  line: Schema.String
})
export type PassageLine = typeof PassageLine.Type

/**
 * The lines just outside an episode: the session's message before its first line and after its
 * last one (in the neighbouring memcells), as the same owner's passages show them, and the
 * episode's last position.
 */
const EdgeRow = Schema.Struct({
  episode_id: Schema.String,
  last_position: Schema.NullOr(Schema.Number),
  before_id: Schema.NullOr(Schema.String),
  before_line: Schema.NullOr(Schema.String),
  after_id: Schema.NullOr(Schema.String),
  after_line: Schema.NullOr(Schema.String)
})

/** A message just outside an episode, as a line. */
export interface EdgeLine {
  readonly message_id: string
  readonly line: string
}

/** An episode's last position and the lines just before and after it in its session. */
export interface EpisodeEdges {
  readonly lastPosition: number
  readonly before: EdgeLine | undefined
  readonly after: EdgeLine | undefined
}

/** Where a message sits in an episode's passages. */
const PassagePosition = Schema.Struct({ episode_id: Schema.String, position: Schema.Number, message_id: Schema.String })
export type PassagePosition = typeof PassagePosition.Type

/** A vector candidate resolved to its item. */
const VectorHit = Schema.Struct({ id: Schema.String, episode_id: Schema.String, item_key: Schema.Number })
export type VectorHit = typeof VectorHit.Type

/** Owner item counts, each capped (see `ownerSizes`). */
const OwnerSizes = Schema.Struct({ episode: Schema.Number, fact: Schema.Number })
export type OwnerSizes = typeof OwnerSizes.Type

/** Decodes rows of one shape (a row that does not match is a defect: the schema owns these tables). */
const decodeRows = <A, I>(row: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknown(Schema.Array(row))
  return (rows: unknown) => decode(rows).pipe(Effect.orDie)
}

/** Facts are filtered through their episode: same session and timestamp, and its senders. */
const episodeColumns: Readonly<Record<FilterField, FieldColumn>> = {
  session_id: { column: "e.session_id" },
  sender_id: { jsonArray: "e.sender_ids" },
  timestamp: { column: "e.timestamp" }
}

const messageColumns: Readonly<Record<FilterField, FieldColumn>> = {
  session_id: { column: "m.session_id" },
  sender_id: { column: "m.sender_id" },
  timestamp: { column: "m.timestamp" }
}

const StringArray = Schema.parseJson(Schema.Array(Schema.String))

export const FactRecord = Schema.Struct({
  fact_id: Schema.String,
  episode_id: Schema.String,
  content: Schema.String,
  timestamp: Schema.Number,
  message_ids: StringArray
})
export type FactRecord = typeof FactRecord.Type

const BufferedRow = Schema.Struct({
  message_id: Schema.String,
  session_id: Schema.String,
  sender_id: Schema.String,
  role: Role,
  timestamp: Schema.Number,
  content: Schema.parseJson(MessageContent)
})

/** A buffered message as search returns it (content as plain text). */
export interface BufferedMessage {
  readonly message_id: string
  readonly session_id: string
  readonly sender_id: string
  readonly role: typeof Role.Type
  readonly timestamp: number
  readonly content: string
}

/** Buffered rows read per search, newest first: a bound on work for very long buffers. */
const BUFFER_SCAN_LIMIT = 5000

/** The English (porter) and CJK (trigram) indexes of each kind, with their bm25 column weights. */
const INDEXES = {
  episode: {
    porter: { table: "episodes_fts", bm25: "bm25(episodes_fts, 0.0, 3.0, 2.0, 1.0)" },
    cjk: { table: "episodes_cjk", bm25: "bm25(episodes_cjk, 3.0, 2.0, 1.0)" }
  },
  fact: {
    porter: { table: "facts_fts", bm25: "bm25(facts_fts, 0.0, 1.0)" },
    cjk: { table: "facts_cjk", bm25: "bm25(facts_cjk, 1.0)" }
  }
} as const

/** The English index's text columns of each kind (SQLite FTS5 column names). */
const TEXT_COLUMNS: Readonly<Record<VectorKind, ReadonlyArray<string>>> = {
  episode: ["subject", "summary", "content"],
  fact: ["content"]
}

/**
 * Postgres: any of `words` as a tsquery. Each word goes through `plainto_tsquery` as a bound
 * parameter (plain text, stemmed like the index, never query syntax), ORed with `||`.
 */
const anyWordQuery = (sql: SqlClient.SqlClient, words: ReadonlyArray<string>): Statement.Fragment =>
  sql`(${sql.join(" || ", false)(words.map((word) => sql`plainto_tsquery('english', ${word})`))})`

/** Postgres: a LIKE pattern matching `needle` anywhere (pg_trgm serves it from its GIN index). */
const containsPattern = (needle: string) => `%${needle.replace(/[\\%_]/g, "\\$&")}%`

/** Postgres: the text the CJK trigram index of each kind covers (the expressions of its GIN indexes). */
const CJK_TEXT = { episode: "(e.title || ' ' || e.summary || ' ' || e.content)", fact: "f.content" } as const

/** Postgres: the English tsvector and its rank weights ({D, C, B, A}: title A 3, summary B 2, content C 1). */
const PG_RANK = {
  episode: "ts_rank('{0, 0.33, 0.67, 1.0}', e.search_en, q.query)",
  fact: "ts_rank(f.search_en, q.query)"
} as const

export interface KeywordLookup {
  readonly kind: VectorKind
  readonly index: "porter" | "cjk"
  /** Words (English index) or CJK trigrams (`cjk`) from `KeywordQuery`: any one matches. */
  readonly tokens: ReadonlyArray<string>
  /** English index: also match the owner's phrase inside the index (narrows SQLite's FTS to the owner). */
  readonly narrowToOwner: boolean
  /**
   * Which FTS matches reach the exact scope and filter check: all (`all`), the best `n` by bm25
   * (`best`: safe only when the expression already narrows to the owner and no filter drops
   * rows), the best `n` of the newest `scan` matches (`newest`: bounds the work of a huge match
   * set; FTS computes bm25 for those rows only), or just the newest `n` (`recent`: no bm25 at all,
   * whose IDF alone walks each word's whole doclist; for words that are everywhere anyway).
   */
  readonly candidates:
    | { readonly _tag: "all" }
    | { readonly _tag: "best"; readonly n: number }
    | { readonly _tag: "newest"; readonly scan: number; readonly n: number }
    | { readonly _tag: "recent"; readonly n: number }
  readonly limit: number
}

const decodeKeywordHits = decodeRows(KeywordHit)
const decodePassageHits = decodeRows(PassageHit)
const decodePassageLines = decodeRows(PassageLine)
const decodePassagePositions = decodeRows(PassagePosition)
const decodeEdgeRows = decodeRows(EdgeRow)
const decodeDatedHits = decodeRows(Schema.Struct({ id: Schema.String, episode_id: Schema.String }))
const decodeVectorHits = decodeRows(VectorHit)
const decodeEpisodes = decodeRows(EpisodeRow)
const decodeFacts = decodeRows(FactRecord)
const decodeBufferedRows = decodeRows(BufferedRow)
const decodeOwnerSizes = decodeRows(OwnerSizes)
/** `matchCounts`' one row: a count per expression, named c0, c1, ... */
const decodeCounts = decodeRows(Schema.Record({ key: Schema.String, value: Schema.Number }))

const noKeywordHits: ReadonlyArray<KeywordHit> = []
const noPassageLines: ReadonlyArray<PassageLine> = []
const noPassagePositions: ReadonlyArray<PassagePosition> = []
const noVectorHits: ReadonlyArray<VectorHit> = []
const noEpisodes: ReadonlyArray<EpisodeRow> = []
const noFacts: ReadonlyArray<FactRecord> = []
const noCounts: ReadonlyArray<number> = []
const noDatedHits: ReadonlyArray<Hit> = []

/** Read side of search: candidates, the rows to show, buffered messages, texts to embed. */
export class SearchRepo extends Effect.Service<SearchRepo>()("engram/SearchRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const filterOf = (filters: FilterTree | undefined, columns: Readonly<Record<FilterField, FieldColumn>>): Statement.Fragment =>
      filters === undefined ? sql.literal("1 = 1") : compileFilterTree(sql, filters, columns)

    /**
     * Joins a candidate's item to its scope-checked, filtered row (facts through their episode).
     * CROSS JOIN fixes the order: candidates drive the lookups (left alone, the planner may walk
     * the owner's whole per-user index instead).
     */
    const scopedItem = (kind: VectorKind, scope: OwnerScope, filters: FilterTree | undefined) =>
      kind === "episode"
        ? sql`${orderedJoin(sql)} episodes e ON e.episode_id = s.item_id
              WHERE e.app_id = ${scope.app_id} AND e.project_id = ${scope.project_id} AND e.user_id = ${scope.owner}
                AND ${filterOf(filters, episodeColumns)}`
        : sql`${orderedJoin(sql)} atomic_facts f ON f.fact_id = s.item_id
              ${orderedJoin(sql)} episodes e ON e.episode_id = f.episode_id
              WHERE f.app_id = ${scope.app_id} AND f.project_id = ${scope.project_id} AND f.user_id = ${scope.owner}
                AND ${filterOf(filters, episodeColumns)}`

    const idColumns = (kind: VectorKind) =>
      sql.literal(kind === "episode" ? "e.episode_id AS id, e.episode_id AS episode_id" : "f.fact_id AS id, f.episode_id AS episode_id")

    /** The FTS5 expression of a lookup (built from extracted tokens, never user text). */
    const ftsMatch = (lookup: KeywordLookup, scope: OwnerScope) =>
      lookup.index === "cjk"
        ? trigramMatch(lookup.tokens)
        : porterMatch(lookup.tokens, TEXT_COLUMNS[lookup.kind], lookup.narrowToOwner ? scope.owner : undefined)

    /** bm25-ranked candidates from one index, best first. */
    const keywordHits = Effect.fn("SearchRepo.keywordHits")(function*(
      lookup: KeywordLookup,
      scope: OwnerScope,
      filters: FilterTree | undefined
    ) {
      const rows = yield* sql.onDialectOrElse({
        pg: () => pgKeywordHits(lookup, scope, filters),
        orElse: () => sqliteKeywordHits(lookup, scope, filters)
      }).pipe(withBusyRetry("keyword search"))
      return yield* decodeKeywordHits(rows)
    })

    /**
     * Postgres: the owner's rows matching the tsquery (English) or containing any trigram (CJK),
     * ranked by ts_rank (negated: lower is better, like bm25) or by how many trigrams they contain.
     * `newest`/`recent` bound the work to the newest matches as on SQLite.
     */
    const pgKeywordHits = (lookup: KeywordLookup, scope: OwnerScope, filters: FilterTree | undefined) => {
      const { kind, candidates } = lookup
      const source = kind === "episode"
        ? sql`episodes e`
        : sql`atomic_facts f JOIN episodes e ON e.episode_id = f.episode_id`
      const row = sql.literal(kind === "episode" ? "e" : "f")
      const patterns = lookup.tokens.map(containsPattern)
      const [matches, rank] = lookup.index === "cjk"
        ? [
          sql.or(patterns.map((p) => sql`${sql.literal(CJK_TEXT[kind])} LIKE ${p}`)),
          sql`-(${sql.join(" + ", false)(patterns.map((p) => sql`CASE WHEN ${sql.literal(CJK_TEXT[kind])} LIKE ${p} THEN 1 ELSE 0 END`))})`
        ]
        : [sql`${row}.search_en @@ q.query`, sql.literal(`-${PG_RANK[kind]}`)]
      const scoped = sql`FROM ${source} CROSS JOIN (SELECT ${anyWordQuery(sql, lookup.index === "cjk" ? [""] : lookup.tokens)} AS query) q
        WHERE ${row}.app_id = ${scope.app_id} AND ${row}.project_id = ${scope.project_id} AND ${row}.user_id = ${scope.owner}
          AND ${matches} AND ${filterOf(filters, episodeColumns)}`
      const ids = idColumns(kind)
      return candidates._tag === "recent"
        ? sql`SELECT ${ids}, -${row}.rowid AS rank ${scoped} ORDER BY ${row}.rowid DESC LIMIT ${Math.min(candidates.n, lookup.limit)}`
        : candidates._tag === "newest"
        ? sql`SELECT id, episode_id, rank FROM (SELECT ${ids}, ${rank} AS rank ${scoped} ORDER BY ${row}.rowid DESC LIMIT ${candidates.scan}) h
              ORDER BY rank LIMIT ${lookup.limit}`
        : sql`SELECT ${ids}, ${rank} AS rank ${scoped} ORDER BY rank LIMIT ${lookup.limit}`
    }

    const sqliteKeywordHits = (lookup: KeywordLookup, scope: OwnerScope, filters: FilterTree | undefined) => {
      const index = INDEXES[lookup.kind][lookup.index]
      const candidates = lookup.candidates
      const match = ftsMatch(lookup, scope)
      const fts = sql`SELECT rowid AS item_key, ${sql.literal(index.bm25)} AS rank FROM ${sql.literal(index.table)}
                      WHERE ${sql.literal(index.table)} MATCH ${match}`
      const matches = candidates._tag === "all"
        ? fts
        : candidates._tag === "best"
        ? sql`${fts} ORDER BY rank LIMIT ${candidates.n}`
        : candidates._tag === "newest"
        ? sql`SELECT * FROM (${fts} ORDER BY rowid DESC LIMIT ${candidates.scan}) ORDER BY rank LIMIT ${candidates.n}`
        : sql`SELECT rowid AS item_key, -rowid AS rank FROM ${sql.literal(index.table)}
              WHERE ${sql.literal(index.table)} MATCH ${match} ORDER BY rowid DESC LIMIT ${candidates.n}`
      return sql`
        SELECT ${idColumns(lookup.kind)}, h.rank AS rank
        FROM (${matches}) AS h
        CROSS JOIN search_items s ON s.item_key = h.item_key
        ${scopedItem(lookup.kind, scope, filters)}
        ORDER BY h.rank LIMIT ${lookup.limit}`
    }

    /**
     * Items containing any of `needles` (CJK runs too short for trigrams), most needles first,
     * then newest; a scan of the owner's rows through the per-user index.
     */
    const substringHits = Effect.fn("SearchRepo.substringHits")(function*(
      kind: VectorKind,
      needles: ReadonlyArray<string>,
      scope: OwnerScope,
      filters: FilterTree | undefined,
      limit: number
    ) {
      if (needles.length === 0) return noKeywordHits
      const text = kind === "episode" ? "(e.title || ' ' || e.summary || ' ' || e.content)" : "f.content"
      // instr on SQLite, strpos on Postgres: the same (haystack, needle) order; both plain substring tests.
      const position = sql.onDialectOrElse({ pg: () => "strpos", orElse: () => "instr" })
      const found = sql.join(" + ", false)(
        needles.map((needle) => sql`(CASE WHEN ${sql.literal(position)}(${sql.literal(text)}, ${needle}) > 0 THEN 1 ELSE 0 END)`)
      )
      const rows = yield* (kind === "episode"
        ? sql`SELECT * FROM (
                SELECT e.episode_id AS id, e.episode_id AS episode_id, -(${found}) AS rank, e.timestamp AS ts FROM episodes e
                WHERE e.app_id = ${scope.app_id} AND e.project_id = ${scope.project_id} AND e.user_id = ${scope.owner}
                  AND ${filterOf(filters, episodeColumns)}) AS hits
              WHERE rank < 0 ORDER BY rank, ts DESC LIMIT ${limit}`
        : sql`SELECT * FROM (
                SELECT f.fact_id AS id, f.episode_id AS episode_id, -(${found}) AS rank, f.timestamp AS ts FROM atomic_facts f
                JOIN episodes e ON e.episode_id = f.episode_id
                WHERE f.app_id = ${scope.app_id} AND f.project_id = ${scope.project_id} AND f.user_id = ${scope.owner}
                  AND ${filterOf(filters, episodeColumns)}) AS hits
              WHERE rank < 0 ORDER BY rank, ts DESC LIMIT ${limit}`).pipe(withBusyRetry("substring search"))
      return yield* decodeKeywordHits(rows)
    })

    /**
     * bm25-ranked passages (message windows) of the owner's episodes, best first. `best` takes
     * the top `n` FTS matches before the scope check (the owner phrase narrows them already);
     * `newest` ranks only the newest `scan` matches (bounds work for big owners); `recent` takes
     * the newest `n` matches unranked (rank 0, newest first): bm25's IDF alone walks each word's
     * whole doclist, which for words found in most windows costs the most and ranks nothing.
     */
    const passageHits = Effect.fn("SearchRepo.passageHits")(function*(
      words: ReadonlyArray<string>,
      narrowToOwner: boolean,
      candidates: KeywordLookup["candidates"],
      scope: OwnerScope,
      filters: FilterTree | undefined,
      limit: number
    ) {
      const rows = yield* sql.onDialectOrElse({
        pg: () => pgPassageHits(words, candidates, scope, filters, limit),
        orElse: () => sqlitePassageHits(porterMatch(words, ["content"], narrowToOwner ? scope.owner : undefined), candidates, scope, filters, limit)
      }).pipe(withBusyRetry("passage search"))
      return yield* decodePassageHits(rows)
    })

    /** Postgres: the owner's passages matching any word, by ts_rank (negated); `newest`/`recent` rank the newest only. */
    const pgPassageHits = (
      words: ReadonlyArray<string>,
      candidates: KeywordLookup["candidates"],
      scope: OwnerScope,
      filters: FilterTree | undefined,
      limit: number
    ) => {
      const rank = candidates._tag === "recent" ? sql.literal("0") : sql.literal("-ts_rank(pf.search_en, q.query)")
      const scoped = sql`
        SELECT p.passage_key AS passage_key, p.episode_id AS episode_id, p.position AS position,
               ${rank} AS rank
        FROM passages_fts pf CROSS JOIN (SELECT ${anyWordQuery(sql, words)} AS query) q
        JOIN passages p ON p.passage_key = pf.rowid
        JOIN episodes e ON e.episode_id = p.episode_id
        WHERE pf.search_en @@ q.query AND pf.owner = ${scope.owner}
          AND e.app_id = ${scope.app_id} AND e.project_id = ${scope.project_id} AND e.user_id = ${scope.owner}
          AND ${filterOf(filters, episodeColumns)}`
      return candidates._tag === "recent"
        ? sql`${scoped} ORDER BY pf.rowid DESC LIMIT ${Math.min(candidates.n, limit)}`
        : candidates._tag === "newest"
        ? sql`SELECT * FROM (${scoped} ORDER BY pf.rowid DESC LIMIT ${candidates.scan}) h
              ORDER BY rank LIMIT ${limit}`
        : sql`${scoped} ORDER BY rank LIMIT ${limit}`
    }

    const sqlitePassageHits = (
      match: string,
      candidates: KeywordLookup["candidates"],
      scope: OwnerScope,
      filters: FilterTree | undefined,
      limit: number
    ) => {
      const fts = sql`SELECT rowid AS passage_key, bm25(passages_fts, 0.0, 1.0) AS rank FROM passages_fts
                      WHERE passages_fts MATCH ${match}`
      const matches = candidates._tag === "best"
        ? sql`${fts} ORDER BY rank LIMIT ${candidates.n}`
        : candidates._tag === "newest"
        ? sql`SELECT * FROM (${fts} ORDER BY rowid DESC LIMIT ${candidates.scan}) ORDER BY rank LIMIT ${candidates.n}`
        : candidates._tag === "recent"
        ? sql`SELECT rowid AS passage_key, 0 AS rank FROM passages_fts WHERE passages_fts MATCH ${match}
              ORDER BY rowid DESC LIMIT ${candidates.n}`
        : fts
      return sql`
        SELECT p.passage_key AS passage_key, p.episode_id AS episode_id, p.position AS position, h.rank AS rank
        FROM (${matches}) AS h
        CROSS JOIN passages p ON p.passage_key = h.passage_key
        CROSS JOIN episodes e ON e.episode_id = p.episode_id
        WHERE e.app_id = ${scope.app_id} AND e.project_id = ${scope.project_id} AND e.user_id = ${scope.owner}
          AND ${filterOf(filters, episodeColumns)}
        ORDER BY ${sql.literal(candidates._tag === "recent" ? "h.passage_key DESC" : "h.rank")} LIMIT ${limit}`
    }

    /** Stored lines of episodes, by episode and position (callers already checked scope). */
    const passageLines = Effect.fn("SearchRepo.passageLines")(function*(
      wanted: ReadonlyArray<{ readonly episode_id: string; readonly positions: ReadonlyArray<number> }>
    ) {
      const nonEmpty = wanted.filter((w) => w.positions.length > 0)
      if (nonEmpty.length === 0) return noPassageLines
      const conditions = sql.or(nonEmpty.map((w) => sql`(episode_id = ${w.episode_id} AND ${sql.in("position", w.positions)})`))
      const rows = yield* sql`SELECT episode_id, position, message_id, line FROM passages WHERE ${conditions}`.pipe(
        withBusyRetry("read passages")
      )
      return yield* decodePassageLines(rows)
    })

    /**
     * For each of the owner's `episodeIds`: its last position and the session's messages just
     * before its first and after its last message, which sit in the neighbouring memcells (a cut
     * between a question and its reply leaves each in another episode), as lines of the owner's
     * own episodes of those memcells (none when the owner has none, or it is not extracted yet).
     * Memcells of a session are consecutive runs of its messages, ordered by their times. Callers
     * already checked the episodes' scope; the neighbours are read in the same scope and owner.
     */
    const episodeEdges = Effect.fn("SearchRepo.episodeEdges")(function*(episodeIds: ReadonlyArray<string>) {
      const edges = new Map<string, EpisodeEdges>()
      if (episodeIds.length === 0) return edges
      // The owner's line of a message (through its memcell's episode of that owner).
      const lineOf = (messageId: string) => sql`
        (SELECT p.line FROM messages m
         CROSS JOIN episodes n ${indexedBy(sql, "episodes_by_memcell")} CROSS JOIN passages p
         WHERE m.app_id = d.app_id AND m.project_id = d.project_id AND m.message_id = ${sql.literal(messageId)}
           AND n.memcell_id = m.memcell_id AND n.app_id = d.app_id AND n.project_id = d.project_id AND n.user_id = d.user_id
           AND p.episode_id = n.episode_id AND p.message_id = m.message_id
         LIMIT 1)`
      // MATERIALIZED: the neighbours' lines read `d`'s ids, which are not worked out twice.
      const rows = yield* sql`
        WITH d AS MATERIALIZED (
          SELECT e.episode_id AS episode_id, e.app_id AS app_id, e.project_id AS project_id, e.user_id AS user_id,
            (SELECT MAX(x.position) FROM passages x WHERE x.episode_id = e.episode_id) AS last_position,
            (SELECT b.message_id FROM messages b
             WHERE b.memcell_id = (
               SELECT c.memcell_id FROM memcells c
               WHERE c.app_id = e.app_id AND c.project_id = e.project_id AND c.session_id = e.session_id
                 AND c.memcell_id <> e.memcell_id
                 AND c.timestamp <= (SELECT MIN(f.timestamp) FROM messages f WHERE f.memcell_id = e.memcell_id)
               ORDER BY c.timestamp DESC LIMIT 1)
             ORDER BY b.timestamp DESC, b.seq DESC LIMIT 1) AS before_id,
            (SELECT a.message_id FROM messages a
             WHERE a.memcell_id = (
               SELECT c.memcell_id FROM memcells c
               WHERE c.app_id = e.app_id AND c.project_id = e.project_id AND c.session_id = e.session_id
                 AND c.memcell_id <> e.memcell_id
                 AND c.timestamp > (SELECT MAX(l.timestamp) FROM messages l WHERE l.memcell_id = e.memcell_id)
               ORDER BY c.timestamp ASC LIMIT 1)
             ORDER BY a.timestamp, a.seq LIMIT 1) AS after_id
          FROM episodes e
          WHERE ${sql.in("e.episode_id", episodeIds)})
        SELECT d.episode_id AS episode_id, d.last_position AS last_position,
          d.before_id AS before_id, ${lineOf("d.before_id")} AS before_line,
          d.after_id AS after_id, ${lineOf("d.after_id")} AS after_line
        FROM d`.pipe(withBusyRetry("read episode edges"), Effect.flatMap(decodeEdgeRows))
      const edgeLine = (message_id: string | null, line: string | null): EdgeLine | undefined =>
        message_id === null || line === null ? undefined : { message_id, line }
      for (const row of rows) {
        if (row.last_position === null) continue
        edges.set(row.episode_id, {
          lastPosition: row.last_position,
          before: edgeLine(row.before_id, row.before_line),
          after: edgeLine(row.after_id, row.after_line)
        })
      }
      return edges
    })

    /** Which of `episodeIds` have passages at all, with the positions of `messageIds` in them. */
    const passagePositions = Effect.fn("SearchRepo.passagePositions")(function*(
      episodeIds: ReadonlyArray<string>,
      messageIds: ReadonlyArray<string>
    ) {
      if (episodeIds.length === 0) return noPassagePositions
      const rows = yield* sql`
        SELECT episode_id, position, message_id FROM passages
        WHERE ${sql.in("episode_id", episodeIds)} AND (position = 0 OR ${messageIds.length === 0 ? sql.literal("1 = 0") : sql.in("message_id", messageIds)})`
        .pipe(withBusyRetry("read passage positions"))
      return yield* decodePassagePositions(rows)
    })

    /** The items behind vector keys that are in scope and pass the filters (unordered). */
    const vectorItems = Effect.fn("SearchRepo.vectorItems")(function*(
      kind: VectorKind,
      keys: ReadonlyArray<number>,
      scope: OwnerScope,
      filters: FilterTree | undefined
    ) {
      if (keys.length === 0) return noVectorHits
      const rows = yield* sql`
        SELECT ${idColumns(kind)}, s.item_key AS item_key FROM search_items s
        ${scopedItem(kind, scope, filters)} AND ${sql.in("s.item_key", keys)}`.pipe(withBusyRetry("resolve vector hits"))
      return yield* decodeVectorHits(rows)
    })

    /**
     * The owner's episodes passing the filters whose time (their last message's) falls in one of
     * `ranges` (epoch ms, [start, end)), oldest first, at most `limit`: the episodes of the days
     * and months a query names (see `QueryDates`).
     */
    const episodesInRanges = Effect.fn("SearchRepo.episodesInRanges")(function*(
      scope: OwnerScope,
      filters: FilterTree | undefined,
      ranges: ReadonlyArray<readonly [number, number]>,
      limit: number
    ) {
      if (ranges.length === 0) return noDatedHits
      const rows = yield* sql`
        SELECT e.episode_id AS id, e.episode_id AS episode_id FROM episodes e
        WHERE e.app_id = ${scope.app_id} AND e.project_id = ${scope.project_id} AND e.user_id = ${scope.owner}
          AND ${sql.or(ranges.map(([start, end]) => sql`(e.timestamp >= ${start} AND e.timestamp < ${end})`))}
          AND ${filterOf(filters, episodeColumns)}
        ORDER BY e.timestamp LIMIT ${limit}`.pipe(withBusyRetry("read dated episodes"))
      return yield* decodeDatedHits(rows)
    })

    const episodes = Effect.fn("SearchRepo.episodes")(function*(ids: ReadonlyArray<string>) {
      if (ids.length === 0) return noEpisodes
      const rows = yield* sql`
        SELECT ${sql.literal(EPISODE_COLUMNS)} FROM episodes WHERE ${sql.in("episode_id", ids)}`.pipe(withBusyRetry("read episodes"))
      return yield* decodeEpisodes(rows)
    })

    const facts = Effect.fn("SearchRepo.facts")(function*(ids: ReadonlyArray<string>) {
      if (ids.length === 0) return noFacts
      const rows = yield* sql`
        SELECT fact_id, episode_id, content, timestamp, message_ids FROM atomic_facts WHERE ${sql.in("fact_id", ids)}`.pipe(
        withBusyRetry("read facts")
      )
      return yield* decodeFacts(rows)
    })

    const decodeBuffered = (rows: ReadonlyArray<unknown>) =>
      Effect.map(
        decodeBufferedRows(rows),
        (decoded): ReadonlyArray<BufferedMessage> => decoded.map((m) => ({ ...m, content: messageText(m.content) }))
      )

    /**
     * Buffered messages of the sessions where the owner has buffered messages of their own (what
     * they are saying right now, and the replies), newest first, passing the filters. The owner's
     * sessions are found among the buffered messages (the partial buffer index), not among every
     * message the owner ever sent: SQLite otherwise takes the sender index and reads the owner's
     * whole history (200 ms at 300,000 messages, against 0.1 ms).
     */
    const ownerBuffered = Effect.fn("SearchRepo.ownerBuffered")(function*(scope: OwnerScope, filters: FilterTree | undefined) {
      const rows = yield* sql`
        SELECT m.message_id, m.session_id, m.sender_id, m.role, m.timestamp, m.content FROM messages m
        WHERE m.app_id = ${scope.app_id} AND m.project_id = ${scope.project_id} AND m.memcell_id IS NULL
          AND m.session_id IN (
            SELECT session_id FROM messages ${indexedBy(sql, "messages_buffer")}
            WHERE app_id = ${scope.app_id} AND project_id = ${scope.project_id} AND memcell_id IS NULL AND sender_id = ${scope.owner})
          AND ${filterOf(filters, messageColumns)}
        ORDER BY m.timestamp DESC, m.seq DESC LIMIT ${BUFFER_SCAN_LIMIT}`.pipe(withBusyRetry("read buffered messages"))
      return yield* decodeBuffered(rows)
    })

    /**
     * Every buffered message of one session, in conversation order, provided the owner takes part
     * in it (a buffered message or a memcell of theirs): another user's session stays invisible.
     */
    const sessionBuffered = Effect.fn("SearchRepo.sessionBuffered")(function*(
      scope: OwnerScope,
      sessionId: string,
      filters: FilterTree | undefined,
      limit: number
    ) {
      const rows = yield* sql`
        SELECT m.message_id, m.session_id, m.sender_id, m.role, m.timestamp, m.content FROM messages m
        WHERE m.app_id = ${scope.app_id} AND m.project_id = ${scope.project_id} AND m.session_id = ${sessionId}
          AND m.memcell_id IS NULL AND ${filterOf(filters, messageColumns)}
          AND (EXISTS (SELECT 1 FROM messages o
                       WHERE o.app_id = ${scope.app_id} AND o.project_id = ${scope.project_id} AND o.session_id = ${sessionId}
                         AND o.memcell_id IS NULL AND o.sender_id = ${scope.owner})
               OR EXISTS (SELECT 1 FROM memcells c CROSS JOIN ${jsonArrayElements(sql, "c.sender_ids", "j")}
                          WHERE c.app_id = ${scope.app_id} AND c.project_id = ${scope.project_id}
                            AND c.session_id = ${sessionId} AND j.value = ${scope.owner}))
        ORDER BY m.timestamp, m.seq LIMIT ${limit}`.pipe(withBusyRetry("read session buffer"))
      return yield* decodeBuffered(rows)
    })

    /** How many episodes and facts the owner has, each counted up to `cap` + 1 (bounded index reads). */
    const ownerSizes = Effect.fn("SearchRepo.ownerSizes")(function*(scope: OwnerScope, cap: number) {
      const rows = yield* sql`
        SELECT
          (SELECT COUNT(*) FROM (SELECT 1 FROM episodes
             WHERE app_id = ${scope.app_id} AND project_id = ${scope.project_id} AND user_id = ${scope.owner} LIMIT ${cap + 1}) AS n) AS episode,
          (SELECT COUNT(*) FROM (SELECT 1 FROM atomic_facts
             WHERE app_id = ${scope.app_id} AND project_id = ${scope.project_id} AND user_id = ${scope.owner} LIMIT ${cap + 1}) AS n) AS fact`
        .pipe(withBusyRetry("count owner items"))
      const [sizes] = yield* decodeOwnerSizes(rows)
      return sizes ?? { episode: 0, fact: 0 }
    })

    /**
     * For each word, how many rows of the English index of `kind` (or of the passage index) match
     * it, counted up to `cap` (the index scan stops there, so the cost is bounded whatever the
     * word's frequency).
     */
    const matchCounts = Effect.fn("SearchRepo.matchCounts")(function*(
      kind: VectorKind | "passage",
      words: ReadonlyArray<string>,
      cap: number
    ) {
      if (words.length === 0) return noCounts
      const fts = sql.literal(kind === "passage" ? "passages_fts" : INDEXES[kind].porter.table)
      const table = sql.literal(kind === "passage" ? "passages_fts" : kind === "episode" ? "episodes" : "atomic_facts")
      const columns = kind === "passage" ? ["content"] : TEXT_COLUMNS[kind]
      const matching = (word: string) =>
        sql.onDialectOrElse({
          pg: () => sql`SELECT 1 FROM ${table} WHERE search_en @@ plainto_tsquery('english', ${word}) LIMIT ${cap}`,
          orElse: () => sql`SELECT 1 FROM ${fts} WHERE ${fts} MATCH ${porterMatch([word], columns)} LIMIT ${cap}`
        })
      const counts = words.map((word, i) =>
        sql`(SELECT COUNT(*) FROM (${matching(word)}) AS m) AS ${sql.literal(`c${i}`)}`
      )
      const rows = yield* sql`SELECT ${sql.join(", ", false)(counts)}`.pipe(withBusyRetry("count matches"))
      const [row] = yield* decodeCounts(rows)
      return words.map((_, i) => row?.[`c${i}`] ?? 0)
    })

    return {
      keywordHits,
      passageHits,
      passageLines,
      episodeEdges,
      episodesInRanges,
      passagePositions,
      substringHits,
      vectorItems,
      episodes,
      facts,
      ownerBuffered,
      sessionBuffered,
      ownerSizes,
      matchCounts
    } as const
  })
}) {}
