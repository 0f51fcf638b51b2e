import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Postgres twin of ../0004_passages.ts: `passages_fts` is a plain table (`rowid` = passage key,
 * as the SQLite FTS rowid) with a generated English tsvector and a GIN index. Removal of an
 * episode's passages is a trigger on `episodes`, as on SQLite.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE passages (
      passage_key BIGSERIAL PRIMARY KEY,
      episode_id TEXT NOT NULL,
      position INTEGER NOT NULL,
      message_id TEXT NOT NULL,
      line TEXT NOT NULL
    )`
  yield* sql`CREATE UNIQUE INDEX passages_by_episode ON passages (episode_id, position)`
  yield* sql.unsafe(`
    CREATE TABLE passages_fts (
      rowid BIGINT PRIMARY KEY,
      owner TEXT NOT NULL,
      content TEXT NOT NULL,
      search_en tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED
    )`)
  yield* sql`CREATE INDEX passages_fts_search_en ON passages_fts USING GIN (search_en)`
  yield* sql.unsafe(`CREATE FUNCTION engram_forget_passages(id text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM passages_fts WHERE rowid IN (SELECT passage_key FROM passages WHERE episode_id = id);
      DELETE FROM passages WHERE episode_id = id;
    END $$`)
  yield* sql.unsafe(`CREATE FUNCTION episodes_passages_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP <> 'INSERT' THEN PERFORM engram_forget_passages(OLD.episode_id); END IF;
      IF TG_OP <> 'DELETE' THEN PERFORM engram_forget_passages(NEW.episode_id); END IF;
      RETURN NULL;
    END $$`)
  yield* sql.unsafe(`CREATE TRIGGER episodes_passages AFTER INSERT OR DELETE OR UPDATE OF episode_id
    ON episodes FOR EACH ROW EXECUTE FUNCTION episodes_passages_sync()`)
})
