import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Passages: a keyword index of short message windows, so search can rank and show the few lines
 * of an episode that answer a query instead of its whole transcript.
 *
 * - `passages`: one row per (episode, consumed message of its memcell) with that message's
 *   rendered line (`[date] Speaker: text`) and its position in the memcell. Keyed by episode, so
 *   each user's episode has its own rows and scope is checked through the episode.
 * - `passages_fts`: English (porter) FTS over the window text of each row (the message and its
 *   neighbours within the same memcell), contentless; rowid = `passage_key`, `owner` = user id.
 *
 * Both are written by `DerivedRepo.replaceEpisodes` in the episode rows' transaction. Removal is a
 * trigger on `episodes`, because Forget and re-runs delete episodes with plain DELETEs.
 * Episodes written before this migration have no passages: search then shows their full content.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE passages (
      passage_key INTEGER PRIMARY KEY AUTOINCREMENT,
      episode_id TEXT NOT NULL,
      position INTEGER NOT NULL,
      message_id TEXT NOT NULL,
      line TEXT NOT NULL
    )`
  yield* sql`CREATE UNIQUE INDEX passages_by_episode ON passages (episode_id, position)`
  yield* sql.unsafe(`CREATE VIRTUAL TABLE passages_fts USING fts5(
    owner, content, content='', contentless_delete=1, tokenize='porter unicode61 remove_diacritics 2')`)
  const forget = (id: string) => `
    DELETE FROM passages_fts WHERE rowid IN (SELECT passage_key FROM passages WHERE episode_id = ${id});
    DELETE FROM passages WHERE episode_id = ${id};`
  yield* sql.unsafe(`CREATE TRIGGER episodes_passages_delete AFTER DELETE ON episodes BEGIN ${forget("old.episode_id")} END`)
  // An INSERT OR REPLACE fires no delete trigger: a new episode row starts without stale passages.
  yield* sql.unsafe(`CREATE TRIGGER episodes_passages_insert AFTER INSERT ON episodes BEGIN ${forget("new.episode_id")} END`)
  yield* sql.unsafe(`CREATE TRIGGER episodes_passages_update AFTER UPDATE OF episode_id ON episodes BEGIN
    ${forget("old.episode_id")} ${forget("new.episode_id")} END`)
})
