import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import type { Memcell } from "../Domain/Memcell.js"
import type { StoredMessage } from "../Domain/Message.js"
import { PassageIndex } from "../Indexing/PassageIndex.js"

const shortHash = (...parts: ReadonlyArray<string | number>) =>
  createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32)

/** Ids derived from the source, so re-running a job replaces its rows instead of adding more. */
export const episodeIdOf = (memcellId: string, userId: string) => `ep_${shortHash(memcellId, userId)}`
export const factIdOf = (memcellId: string, index: number) => `af_${shortHash(memcellId, index)}`
export const foresightIdOf = (memcellId: string, index: number) => `fs_${shortHash(memcellId, index)}`

export interface NewEpisode {
  readonly user_id: string
  readonly title: string
  readonly content: string
  readonly summary: string
}

export interface NewFact {
  readonly user_id: string
  readonly content: string
  readonly message_ids: ReadonlyArray<string>
}

export interface NewForesight {
  readonly user_id: string
  readonly content: string
  readonly start_time: number
  readonly end_time: number | null
  readonly evidence: string
  readonly message_ids: ReadonlyArray<string>
}

interface ImportedDerived {
  readonly memcell_id: string
  readonly app_id: string
  readonly project_id: string
  readonly session_id: string
  readonly user_id: string
  readonly message_ids: ReadonlyArray<string>
  readonly timestamp: number
  readonly created_at: number
  readonly extractor: string
}

/** Derived rows as `engram export` wrote them (every column). */
export interface ImportedEpisode extends ImportedDerived {
  readonly episode_id: string
  readonly title: string
  readonly content: string
  readonly summary: string
  readonly sender_ids: ReadonlyArray<string>
}
export interface ImportedFact extends ImportedDerived {
  readonly fact_id: string
  readonly episode_id: string
  readonly content: string
}
export interface ImportedForesight extends ImportedDerived {
  readonly foresight_id: string
  readonly content: string
  readonly start_time: number
  readonly end_time: number | null
  readonly evidence: string
}

/**
 * Writes of derived memory. Each replaces everything its kind derived from one memcell, and is
 * meant to run inside the job's result transaction (together with marking the job done).
 */
export class DerivedRepo extends Effect.Service<DerivedRepo>()("engram/DerivedRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const passages = yield* PassageIndex

    const scopeOf = (cell: Memcell) => ({
      memcell_id: cell.memcell_id,
      app_id: cell.app_id,
      project_id: cell.project_id,
      session_id: cell.session_id,
      timestamp: cell.timestamp
    })

    /**
     * `messages` (the cell's, in order) feed the passage index: per episode, one row per message
     * with its line, indexed with its neighbours' lines. Deleting the old episodes drops their
     * passages (trigger), so a re-run replaces them too.
     */
    const replaceEpisodes = (
      cell: Memcell,
      rows: ReadonlyArray<NewEpisode>,
      extractor: string,
      now: number,
      messages: ReadonlyArray<StoredMessage> = []
    ) =>
      Effect.gen(function*() {
        yield* sql`DELETE FROM episodes WHERE memcell_id = ${cell.memcell_id}`
        if (rows.length === 0) return
        yield* sql`INSERT INTO episodes ${
          sql.insert(rows.map((row) => ({
            episode_id: episodeIdOf(cell.memcell_id, row.user_id),
            ...scopeOf(cell),
            user_id: row.user_id,
            title: row.title,
            content: row.content,
            summary: row.summary,
            sender_ids: JSON.stringify(cell.sender_ids),
            message_ids: JSON.stringify(cell.message_ids),
            created_at: now,
            extractor
          })))
        }`
        for (const row of rows) yield* passages.indexEpisode(episodeIdOf(cell.memcell_id, row.user_id), row.user_id, messages)
      })

    const replaceFacts = (cell: Memcell, rows: ReadonlyArray<NewFact>, extractor: string, now: number) =>
      Effect.gen(function*() {
        yield* sql`DELETE FROM atomic_facts WHERE memcell_id = ${cell.memcell_id}`
        if (rows.length === 0) return
        yield* sql`INSERT INTO atomic_facts ${
          sql.insert(rows.map((row, index) => ({
            fact_id: factIdOf(cell.memcell_id, index),
            episode_id: episodeIdOf(cell.memcell_id, row.user_id),
            ...scopeOf(cell),
            user_id: row.user_id,
            content: row.content,
            message_ids: JSON.stringify(row.message_ids),
            created_at: now,
            extractor
          })))
        }`
      })

    const replaceForesight = (cell: Memcell, rows: ReadonlyArray<NewForesight>, extractor: string, now: number) =>
      Effect.gen(function*() {
        yield* sql`DELETE FROM foresight WHERE memcell_id = ${cell.memcell_id}`
        if (rows.length === 0) return
        yield* sql`INSERT INTO foresight ${
          sql.insert(rows.map((row, index) => ({
            foresight_id: foresightIdOf(cell.memcell_id, index),
            ...scopeOf(cell),
            user_id: row.user_id,
            content: row.content,
            start_time: row.start_time,
            end_time: row.end_time,
            evidence: row.evidence,
            message_ids: JSON.stringify(row.message_ids),
            created_at: now,
            extractor
          })))
        }`
      })

    /**
     * `engram import`: exported rows as they were; a row already there (same id) is left alone,
     * so importing twice changes nothing. A new episode is indexed for passages from its
     * memcell's messages (`messagesOf`). Run in the importer's transaction.
     */
    const importEpisodes = (
      rows: ReadonlyArray<ImportedEpisode>,
      messagesOf: (memcellId: string) => ReadonlyArray<StoredMessage>
    ) =>
      Effect.gen(function*() {
        if (rows.length === 0) return 0
        const inserted = yield* sql<{ episode_id: string }>`INSERT INTO episodes ${
          sql.insert(rows.map((row) => ({ ...row, sender_ids: JSON.stringify(row.sender_ids), message_ids: JSON.stringify(row.message_ids) })))
        } ON CONFLICT (episode_id) DO NOTHING RETURNING episode_id`
        const isNew = new Set(inserted.map((row) => row.episode_id))
        for (const row of rows) {
          if (isNew.has(row.episode_id)) yield* passages.indexEpisode(row.episode_id, row.user_id, messagesOf(row.memcell_id))
        }
        return inserted.length
      })

    const importFacts = (rows: ReadonlyArray<ImportedFact>) =>
      rows.length === 0 ? Effect.succeed(0) : sql<{ fact_id: string }>`INSERT INTO atomic_facts ${
        sql.insert(rows.map((row) => ({ ...row, message_ids: JSON.stringify(row.message_ids) })))
      } ON CONFLICT (fact_id) DO NOTHING RETURNING fact_id`.pipe(Effect.map((inserted) => inserted.length))

    const importForesight = (rows: ReadonlyArray<ImportedForesight>) =>
      rows.length === 0 ? Effect.succeed(0) : sql<{ foresight_id: string }>`INSERT INTO foresight ${
        sql.insert(rows.map((row) => ({ ...row, message_ids: JSON.stringify(row.message_ids) })))
      } ON CONFLICT (foresight_id) DO NOTHING RETURNING foresight_id`.pipe(Effect.map((inserted) => inserted.length))

    return { replaceEpisodes, replaceFacts, replaceForesight, importEpisodes, importFacts, importForesight } as const
  }),
  dependencies: [PassageIndex.Default]
}) {}
