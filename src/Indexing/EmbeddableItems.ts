import { SqlClient, SqlSchema } from "@effect/sql"
import { Effect, Schema } from "effect"
import { withBusyRetry } from "../Storage/Database.js"
import type { VectorKind } from "./VectorStore.js"

/** An episode or fact of a memcell with the text its vector is made from. */
export const EmbeddableItem = Schema.Struct({
  item_key: Schema.Number,
  app_id: Schema.String,
  project_id: Schema.String,
  owner: Schema.String,
  text: Schema.String
})
export type EmbeddableItem = typeof EmbeddableItem.Type

/** Longest text embedded per item: title and summary carry the gist; the transcript is cut. */
const EMBED_TEXT_MAX_CHARS = 6000

/** The current items of `kind` of one memcell, read for the embedding step. */
export const embeddableItems = Effect.fn("EmbeddableItems.read")(function*(kind: VectorKind, memcellId: string) {
  const sql = yield* SqlClient.SqlClient
  const read = SqlSchema.findAll({
    Request: Schema.String,
    Result: EmbeddableItem,
    execute: (id) =>
      kind === "episode"
        ? sql`SELECT s.item_key, e.app_id, e.project_id, e.user_id AS owner,
                     substr(e.title || ${"\n"} || e.summary || ${"\n"} || e.content, 1, ${EMBED_TEXT_MAX_CHARS}) AS text
              FROM episodes e JOIN search_items s ON s.item_id = e.episode_id WHERE e.memcell_id = ${id}`
        : sql`SELECT s.item_key, f.app_id, f.project_id, f.user_id AS owner, substr(f.content, 1, ${EMBED_TEXT_MAX_CHARS}) AS text
              FROM atomic_facts f JOIN search_items s ON s.item_id = f.fact_id WHERE f.memcell_id = ${id}`
  })
  return yield* read(memcellId).pipe(Effect.catchTag("ParseError", Effect.die), withBusyRetry("read items to embed"))
})
