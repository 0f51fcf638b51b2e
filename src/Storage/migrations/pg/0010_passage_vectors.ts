import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Postgres twin of ../0010_passage_vectors.ts: a deleted passage takes its vector with it (cascade). */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE passage_embeddings (
      passage_key BIGINT PRIMARY KEY REFERENCES passages (passage_key) ON DELETE CASCADE,
      embedding BYTEA NOT NULL
    )`
})
