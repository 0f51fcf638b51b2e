import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Search indexes over episodes and atomic facts, kept in sync BY TRIGGERS on the base tables, so
 * every writer (extraction results, deletes, anything later) updates them in its own transaction.
 *
 * - `search_items` gives each stored version of an item a stable integer key (FTS and vector
 *   rowids; AUTOINCREMENT, so a key is never reused). Any change to an item's text gives it a new
 *   key: a vector always belongs to exactly the text it was computed from, or is absent.
 * - `*_fts`: English, `porter unicode61 remove_diacritics 2`, with an `owner` column (the user id)
 *   so a user's search intersects with that user's rows inside FTS. Contentless: the text lives
 *   once, in the base tables.
 * - `*_cjk`: `trigram` over items containing CJK text only (queries with CJK go there).
 * - `item_embeddings`: the exact float32 vector of an item (sqlite-vec scores it), kept in step by
 *   the same triggers. The binary codes for fast scans of big owners live in a sqlite-vec table
 *   created at runtime (its width depends on the model, and a trigger must never depend on an
 *   extension), so `vector_garbage` collects keys whose codes the embedding runtime must purge.
 * - `search_meta`: the embedding model and width the stored vectors were made with.
 */

/** Han, Hiragana/Katakana (incl. halfwidth), Hangul (syllables and jamo): a GLOB character class. */
export const CJK_GLOB_CLASS = "[ᄀ-ᇿ぀-ヿㄱ-ㆎㇰ-ㇿ㐀-䶿一-鿿가-힯豈-﫿ｦ-ﾟ𠀀-𲎯]"

const hasCjk = (...columns: ReadonlyArray<string>) =>
  `((${columns.join(" || ' ' || ")}) GLOB '*${CJK_GLOB_CLASS}*')`

const FTS_OPTIONS = "content='', contentless_delete=1"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE search_items (
      item_key INTEGER PRIMARY KEY AUTOINCREMENT,
      item_id TEXT NOT NULL UNIQUE,
      kind TEXT NOT NULL,
      has_cjk INTEGER NOT NULL
    )`
  yield* sql`CREATE TABLE vector_garbage (item_key INTEGER PRIMARY KEY)`
  // `owner` is app/project/user/kind: a vector search reads one owner's items of one kind.
  yield* sql`CREATE TABLE item_embeddings (item_key INTEGER PRIMARY KEY, owner TEXT NOT NULL, embedding BLOB NOT NULL)`
  yield* sql`CREATE INDEX item_embeddings_by_owner ON item_embeddings (owner)`
  yield* sql`CREATE TABLE search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`

  yield* sql.unsafe(`CREATE VIRTUAL TABLE episodes_fts USING fts5(
    owner, subject, summary, content, ${FTS_OPTIONS}, tokenize='porter unicode61 remove_diacritics 2')`)
  yield* sql.unsafe(`CREATE VIRTUAL TABLE episodes_cjk USING fts5(
    subject, summary, content, ${FTS_OPTIONS}, tokenize='trigram remove_diacritics 1')`)
  yield* sql.unsafe(`CREATE VIRTUAL TABLE facts_fts USING fts5(
    owner, content, ${FTS_OPTIONS}, tokenize='porter unicode61 remove_diacritics 2')`)
  yield* sql.unsafe(`CREATE VIRTUAL TABLE facts_cjk USING fts5(
    content, ${FTS_OPTIONS}, tokenize='trigram remove_diacritics 1')`)

  // Rows written before this migration.
  yield* sql.unsafe(`
    INSERT INTO search_items (item_id, kind, has_cjk)
    SELECT episode_id, 'episode', ${hasCjk("title", "summary", "content")} FROM episodes ORDER BY rowid`)
  yield* sql.unsafe(`
    INSERT INTO search_items (item_id, kind, has_cjk)
    SELECT fact_id, 'fact', ${hasCjk("content")} FROM atomic_facts ORDER BY rowid`)
  yield* sql.unsafe(`
    INSERT INTO episodes_fts (rowid, owner, subject, summary, content)
    SELECT s.item_key, e.user_id, e.title, e.summary, e.content FROM episodes e JOIN search_items s ON s.item_id = e.episode_id`)
  yield* sql.unsafe(`
    INSERT INTO episodes_cjk (rowid, subject, summary, content)
    SELECT s.item_key, e.title, e.summary, e.content FROM episodes e JOIN search_items s ON s.item_id = e.episode_id
    WHERE s.has_cjk = 1`)
  yield* sql.unsafe(`
    INSERT INTO facts_fts (rowid, owner, content)
    SELECT s.item_key, f.user_id, f.content FROM atomic_facts f JOIN search_items s ON s.item_id = f.fact_id`)
  yield* sql.unsafe(`
    INSERT INTO facts_cjk (rowid, content)
    SELECT s.item_key, f.content FROM atomic_facts f JOIN search_items s ON s.item_id = f.fact_id WHERE s.has_cjk = 1`)

  /** Statements that drop the index entries of item `id` (an `old.`/`new.` column reference). */
  const forget = (fts: string, cjk: string, id: string) => `
    DELETE FROM ${fts} WHERE rowid IN (SELECT item_key FROM search_items WHERE item_id = ${id});
    DELETE FROM ${cjk} WHERE rowid IN (SELECT item_key FROM search_items WHERE item_id = ${id} AND has_cjk = 1);
    DELETE FROM item_embeddings WHERE item_key IN (SELECT item_key FROM search_items WHERE item_id = ${id});
    INSERT OR IGNORE INTO vector_garbage (item_key) SELECT item_key FROM search_items WHERE item_id = ${id};
    DELETE FROM search_items WHERE item_id = ${id};`

  const episodeIndex = `
    INSERT INTO search_items (item_id, kind, has_cjk)
    VALUES (new.episode_id, 'episode', ${hasCjk("new.title", "new.summary", "new.content")});
    INSERT INTO episodes_fts (rowid, owner, subject, summary, content)
    SELECT item_key, new.user_id, new.title, new.summary, new.content FROM search_items WHERE item_id = new.episode_id;
    INSERT INTO episodes_cjk (rowid, subject, summary, content)
    SELECT item_key, new.title, new.summary, new.content FROM search_items WHERE item_id = new.episode_id AND has_cjk = 1;`

  const factIndex = `
    INSERT INTO search_items (item_id, kind, has_cjk) VALUES (new.fact_id, 'fact', ${hasCjk("new.content")});
    INSERT INTO facts_fts (rowid, owner, content)
    SELECT item_key, new.user_id, new.content FROM search_items WHERE item_id = new.fact_id;
    INSERT INTO facts_cjk (rowid, content)
    SELECT item_key, new.content FROM search_items WHERE item_id = new.fact_id AND has_cjk = 1;`

  // An insert first forgets any entry left under the same id (INSERT OR REPLACE fires no delete
  // trigger), so the triggers stay consistent whatever conflict clause a writer uses.
  yield* sql.unsafe(`CREATE TRIGGER episodes_search_insert AFTER INSERT ON episodes BEGIN
    ${forget("episodes_fts", "episodes_cjk", "new.episode_id")}
    ${episodeIndex}
  END`)
  yield* sql.unsafe(`CREATE TRIGGER episodes_search_delete AFTER DELETE ON episodes BEGIN
    ${forget("episodes_fts", "episodes_cjk", "old.episode_id")}
  END`)
  yield* sql.unsafe(`CREATE TRIGGER episodes_search_update AFTER UPDATE OF episode_id, user_id, title, summary, content ON episodes BEGIN
    ${forget("episodes_fts", "episodes_cjk", "old.episode_id")}
    ${forget("episodes_fts", "episodes_cjk", "new.episode_id")}
    ${episodeIndex}
  END`)
  yield* sql.unsafe(`CREATE TRIGGER facts_search_insert AFTER INSERT ON atomic_facts BEGIN
    ${forget("facts_fts", "facts_cjk", "new.fact_id")}
    ${factIndex}
  END`)
  yield* sql.unsafe(`CREATE TRIGGER facts_search_delete AFTER DELETE ON atomic_facts BEGIN
    ${forget("facts_fts", "facts_cjk", "old.fact_id")}
  END`)
  yield* sql.unsafe(`CREATE TRIGGER facts_search_update AFTER UPDATE OF fact_id, user_id, content ON atomic_facts BEGIN
    ${forget("facts_fts", "facts_cjk", "old.fact_id")}
    ${forget("facts_fts", "facts_cjk", "new.fact_id")}
    ${factIndex}
  END`)
})
