import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * `passage_embeddings`: the exact float32 vector of each passage's window text (the message and
 * its neighbours, as `passages_fts` indexes it), written by the embedding step with the episodes'
 * vectors. Search re-scores the windows of the episodes it chose with them, so there is no
 * nearest-neighbour index: reads are by passage key. Passage keys are never reused
 * (AUTOINCREMENT), and a deleted passage takes its vector with it.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE passage_embeddings (passage_key INTEGER PRIMARY KEY, embedding BLOB NOT NULL)`
  yield* sql.unsafe(`CREATE TRIGGER passages_embedding_delete AFTER DELETE ON passages BEGIN
    DELETE FROM passage_embeddings WHERE passage_key = old.passage_key; END`)
})
