import { SqlClient, SqlSchema } from "@effect/sql"
import { Effect, Schema } from "effect"
import { withBusyRetry } from "../Storage/Database.js"
import { windowText } from "./PassageIndex.js"

/** A passage of a memcell's episodes with the window text its vector is made from. */
const PassageRow = Schema.Struct({
  passage_key: Schema.Number,
  episode_id: Schema.String,
  position: Schema.Number,
  line: Schema.String
})

const PassageVectorRow = Schema.Struct({
  episode_id: Schema.String,
  position: Schema.Number,
  embedding: Schema.Uint8ArrayFromSelf
})

/** A passage window to embed. */
export interface PassageWindow {
  readonly passage_key: number
  readonly text: string
}

/** A stored window vector, by where the passage sits. */
export interface PassageVector {
  readonly episode_id: string
  readonly position: number
  readonly vector: Float32Array
}

/** Episodes whose passage vectors one search reads at most (the chosen ones: `top_k` is capped lower). */
const MAX_EPISODES_READ = 500

/** A copy, so the floats are aligned whatever the driver's buffer offset. */
const toVector = (bytes: Uint8Array) => new Float32Array(Uint8Array.from(bytes).buffer)
const toBytes = (vector: Float32Array) => Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength)

/**
 * Vectors of passage windows (`passage_embeddings`; its only writer). The embedding step writes
 * them with the episodes' vectors (same model, same job); search reads those of the episodes it
 * chose and ranks their windows by meaning as well as by words. A reembed clears them with the
 * item vectors and the re-queued episode jobs write them again.
 */
export class PassageVectors extends Effect.Service<PassageVectors>()("engram/PassageVectors", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const readPassages = SqlSchema.findAll({
      Request: Schema.String,
      Result: PassageRow,
      execute: (memcellId) =>
        sql`SELECT p.passage_key, p.episode_id, p.position, p.line
            FROM passages p JOIN episodes e ON e.episode_id = p.episode_id
            WHERE e.memcell_id = ${memcellId} ORDER BY p.episode_id, p.position`
    })

    /** The windows of a memcell's episodes' passages, for the embedding step (outside any transaction). */
    const windowsOf = Effect.fn("PassageVectors.windowsOf")(function*(memcellId: string) {
      const rows = yield* readPassages(memcellId).pipe(Effect.catchTag("ParseError", Effect.die), withBusyRetry("read passages to embed"))
      const byEpisode = new Map<string, Array<typeof PassageRow.Type>>()
      for (const row of rows) {
        const mine = byEpisode.get(row.episode_id) ?? []
        mine[row.position] = row
        byEpisode.set(row.episode_id, mine)
      }
      return [...byEpisode.values()].flatMap((lines) =>
        lines.flatMap((row, position): ReadonlyArray<PassageWindow> =>
          row === undefined ? [] : [{ passage_key: row.passage_key, text: windowText(lines.map((l) => l ?? { line: "" }), position) }]
        )
      )
    })

    /**
     * Inside the caller's transaction: stores each window's vector, replacing an older one, for
     * passages that still exist (the episode may have been re-extracted while it was embedded).
     */
    const replace = (entries: ReadonlyArray<{ readonly passage_key: number; readonly vector: Float32Array }>) =>
      Effect.gen(function*() {
        if (entries.length === 0) return
        const keys = entries.map((e) => e.passage_key)
        const live = new Set(
          (yield* sql<{ passage_key: number }>`SELECT passage_key FROM passages WHERE ${sql.in("passage_key", keys)}`).map((row) =>
            Number(row.passage_key)
          )
        )
        yield* sql`DELETE FROM passage_embeddings WHERE ${sql.in("passage_key", keys)}`
        const fresh = entries.filter((e) => live.has(e.passage_key))
        if (fresh.length === 0) return
        yield* sql`INSERT INTO passage_embeddings ${sql.insert(fresh.map((e) => ({ passage_key: e.passage_key, embedding: toBytes(e.vector) })))}`
      })

    /** Inside the caller's transaction: drops every passage vector (a reembed). */
    const clear = sql`DELETE FROM passage_embeddings`.pipe(Effect.asVoid)

    const readVectors = SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: PassageVectorRow,
      execute: (episodeIds) =>
        sql`SELECT p.episode_id, p.position, v.embedding
            FROM passages p JOIN passage_embeddings v ON v.passage_key = p.passage_key
            WHERE ${sql.in("p.episode_id", episodeIds)}`
    })

    /** The window vectors of `episodeIds`' passages (those embedded so far). */
    const vectorsOf = Effect.fn("PassageVectors.vectorsOf")(function*(episodeIds: ReadonlyArray<string>) {
      if (episodeIds.length === 0) return [] as ReadonlyArray<PassageVector>
      const rows = yield* readVectors(episodeIds.slice(0, MAX_EPISODES_READ)).pipe(
        Effect.catchTag("ParseError", Effect.die),
        withBusyRetry("read passage vectors")
      )
      return rows.map((row): PassageVector => ({ episode_id: row.episode_id, position: row.position, vector: toVector(row.embedding) }))
    })

    return { windowsOf, replace, clear, vectorsOf } as const
  })
}) {}
