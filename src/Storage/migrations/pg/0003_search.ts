import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { CJK_GLOB_CLASS } from "../0003_search.js"

/**
 * Postgres twin of ../0003_search.ts. The same `search_items` keys (vector rows), kept by
 * triggers; the keyword indexes are Postgres's own:
 * - English: a generated `search_en` tsvector per row (title A, summary B, content C; the
 *   `english` stemmer) with a GIN index.
 * - Text without word breaks (CJK): pg_trgm GIN indexes over the same text, for substring matches.
 * `item_embeddings.embedding` keeps the float32 bytes, as on SQLite (pgvector is optional).
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`
  yield* sql`
    CREATE TABLE search_items (
      item_key BIGSERIAL PRIMARY KEY,
      item_id TEXT NOT NULL UNIQUE,
      kind TEXT NOT NULL,
      has_cjk INTEGER NOT NULL
    )`
  yield* sql`CREATE TABLE vector_garbage (item_key BIGINT PRIMARY KEY)`
  yield* sql`CREATE TABLE item_embeddings (item_key BIGINT PRIMARY KEY, owner TEXT NOT NULL, embedding BYTEA NOT NULL)`
  yield* sql`CREATE INDEX item_embeddings_by_owner ON item_embeddings (owner)`
  yield* sql`CREATE TABLE search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`

  yield* sql.unsafe(`ALTER TABLE episodes ADD COLUMN search_en tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', summary), 'B')
    || setweight(to_tsvector('english', content), 'C')) STORED`)
  yield* sql`CREATE INDEX episodes_search_en ON episodes USING GIN (search_en)`
  yield* sql.unsafe(`CREATE INDEX episodes_search_cjk ON episodes USING GIN ((title || ' ' || summary || ' ' || content) gin_trgm_ops)`)
  yield* sql.unsafe(`ALTER TABLE atomic_facts ADD COLUMN search_en tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED`)
  yield* sql`CREATE INDEX atomic_facts_search_en ON atomic_facts USING GIN (search_en)`
  yield* sql.unsafe(`CREATE INDEX atomic_facts_search_cjk ON atomic_facts USING GIN (content gin_trgm_ops)`)

  yield* sql.unsafe(`CREATE FUNCTION engram_has_cjk(t text) RETURNS integer IMMUTABLE LANGUAGE sql AS $$
    SELECT CASE WHEN t ~ '${CJK_GLOB_CLASS}' THEN 1 ELSE 0 END $$`)
  // Drops an item's key, its vector, and queues the key for the vector runtime's purge.
  yield* sql.unsafe(`CREATE FUNCTION engram_forget_item(id text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM item_embeddings WHERE item_key IN (SELECT item_key FROM search_items WHERE item_id = id);
      INSERT INTO vector_garbage (item_key) SELECT item_key FROM search_items WHERE item_id = id ON CONFLICT DO NOTHING;
      DELETE FROM search_items WHERE item_id = id;
    END $$`)
  yield* sql.unsafe(`CREATE FUNCTION episodes_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP <> 'INSERT' THEN PERFORM engram_forget_item(OLD.episode_id); END IF;
      IF TG_OP <> 'DELETE' THEN
        PERFORM engram_forget_item(NEW.episode_id);
        INSERT INTO search_items (item_id, kind, has_cjk)
        VALUES (NEW.episode_id, 'episode', engram_has_cjk(NEW.title || ' ' || NEW.summary || ' ' || NEW.content));
      END IF;
      RETURN NULL;
    END $$`)
  yield* sql.unsafe(`CREATE TRIGGER episodes_search AFTER INSERT OR DELETE OR UPDATE OF episode_id, user_id, title, summary, content
    ON episodes FOR EACH ROW EXECUTE FUNCTION episodes_search_sync()`)
  yield* sql.unsafe(`CREATE FUNCTION facts_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP <> 'INSERT' THEN PERFORM engram_forget_item(OLD.fact_id); END IF;
      IF TG_OP <> 'DELETE' THEN
        PERFORM engram_forget_item(NEW.fact_id);
        INSERT INTO search_items (item_id, kind, has_cjk) VALUES (NEW.fact_id, 'fact', engram_has_cjk(NEW.content));
      END IF;
      RETURN NULL;
    END $$`)
  yield* sql.unsafe(`CREATE TRIGGER facts_search AFTER INSERT OR DELETE OR UPDATE OF fact_id, user_id, content
    ON atomic_facts FOR EACH ROW EXECUTE FUNCTION facts_search_sync()`)
})
