import type { SqlClient as SqlClientTag } from "@effect/sql"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import type { Memcell } from "../../src/Domain/Memcell.js"
import { ScopeId, type StoredMessage } from "../../src/Domain/Message.js"
import { SearchRequest, type SearchRequestInput } from "../../src/Domain/SearchRequest.js"
import { DerivedRepo } from "../../src/Extraction/DerivedRepo.js"
import { Embedder } from "../../src/Llm/Embedder.js"
import { Search } from "../../src/Search/Search.js"
import * as Database from "../../src/Storage/Database.js"
import { fakeEmbedding } from "../support/FakeEmbedder.js"
import { pgliteDatabase } from "../support/PgliteServer.js"
import { embeddingIndexer, vectorSearchTestLayer } from "../support/SearchTestLayer.js"
import { vi } from "vitest"
import { WEEKEND_CHAT } from "../fixtures/weekendChat.js"

vi.setConfig({ testTimeout: 60_000 })

/**
 * Window vectors: the embedding step embeds each passage window (once per distinct text) beside
 * the episodes, and hybrid search ranks the chosen episodes' windows by meaning too, so a line
 * that answers in other words than the question's is shown.
 */

const T0 = Date.UTC(2024, 4, 6, 12, 0)

const lines = WEEKEND_CHAT

const messages: ReadonlyArray<StoredMessage> = lines.map((content, i) => ({
  seq: i,
  message_id: `m-${i}`,
  app_id: ScopeId.make("default"),
  project_id: ScopeId.make("default"),
  session_id: "s-1",
  sender_id: i % 2 === 0 ? "assistant" : "alice",
  sender_name: i % 2 === 0 ? null : "Alice",
  role: i % 2 === 0 ? "assistant" : "user",
  timestamp: T0 + i * 60_000,
  content,
  tool_calls: null,
  tool_call_id: null,
  token_count: 10,
  memcell_id: "mc-1"
}))

const cell: Memcell = {
  memcell_id: "mc-1",
  app_id: ScopeId.make("default"),
  project_id: ScopeId.make("default"),
  session_id: "s-1",
  message_ids: messages.map((m) => m.message_id),
  sender_ids: ["assistant", "alice"],
  timestamp: messages.at(-1)!.timestamp,
  created_at: messages.at(-1)!.timestamp
}

/**
 * The fake bag-of-words embedder over words of four letters or more (no dates, names or small
 * words to blur it), with one synonym set: what a model that knows "pup" means "dog" would do.
 */
const canine = (text: string) =>
  (text.replace(/\b(pup|puppy|dog|greyhound)s?\b/gi, "canine").match(/\b[a-z]{4,}\b/gi) ?? []).filter((w) => !/^(alice|assistant)$/i.test(w)).join(" ")

/** Every text the embedder was asked to embed, in order (batch work only). */
const makeRecordingEmbedder = Effect.sync(() => {
  const embedded: Array<string> = []
  const layer = Layer.succeed(Embedder, {
    model: "synonyms",
    dimensions: 256,
    embed: (texts) =>
      Effect.sync(() => {
        embedded.push(...texts)
        return texts.map((text) => fakeEmbedding(canine(text), 256))
      }),
    embedQuery: (query) => Effect.sync(() => fakeEmbedding(canine(query), 256))
  })
  return { embedded, layer }
})

const count = (table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)).pipe(Effect.map((rows) => rows[0]!.n))

const writeEpisodes = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const derived = yield* DerivedRepo
  const transcript = messages.map((m) => `${m.sender_id}: ${m.content}`).join("\n")
  const episodes = ["alice", "assistant"].map((user_id) => ({ user_id, title: "Chat", summary: "A weekend chat.", content: transcript }))
  yield* sql.withTransaction(derived.replaceEpisodes(cell, episodes, "test", T0, messages))
})

const embedEpisodes = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const indexer = yield* embeddingIndexer
  yield* sql.withTransaction(yield* indexer.prepareJob("embed_episodes", "mc-1"))
})

const search = (input: SearchRequestInput) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(SearchRequest)(input)), (request) => Effect.flatMap(Search, (s) => s.search(request)))

/** Both stores: window vectors are plain blobs (bytea) scored in process, so they need no vector extension. */
const stores: ReadonlyArray<{ readonly name: string; readonly database: Layer.Layer<SqlClientTag.SqlClient> }> = [
  { name: "sqlite", database: Database.layerMemory },
  { name: "postgres (PGlite)", database: pgliteDatabase }
]

describe.each(stores)("passage window vectors: $name", ({ database }) => {
  it.effect("are written by the episodes' embedding job, each distinct window embedded once, and go with their passages", () =>
    Effect.gen(function*() {
      const { embedded, layer } = yield* makeRecordingEmbedder
      yield* Effect.gen(function*() {
        yield* writeEpisodes
        yield* embedEpisodes
        // Two users' episodes of one memcell: 18 passages, 9 distinct windows, plus the 2 episode texts.
        expect(yield* count("passages")).toBe(2 * lines.length)
        expect(yield* count("passage_embeddings")).toBe(2 * lines.length)
        expect(embedded.length).toBe(2 + lines.length)
        expect(embedded.filter((text) => text.includes("Biscuit")).length).toBe(2 + 3)
        // Re-extraction replaces the passages: their old vectors go with them until the next embedding.
        yield* writeEpisodes
        expect(yield* count("passage_embeddings")).toBe(0)
        yield* embedEpisodes
        expect(yield* count("passage_embeddings")).toBe(2 * lines.length)
        // A reembed starts over: every vector dropped (the re-queued jobs write them again).
        yield* Effect.flatMap(embeddingIndexer, (indexer) => indexer.reembedAll())
        expect(yield* count("passage_embeddings")).toBe(0)
      }).pipe(Effect.provide(vectorSearchTestLayer(layer, { database })))
    }))

  it.effect("let hybrid search show the line that answers in other words; keyword search cannot", () =>
    Effect.gen(function*() {
      const { layer } = yield* makeRecordingEmbedder
      yield* Effect.gen(function*() {
        yield* writeEpisodes
        yield* embedEpisodes
        const query = { user_id: "alice", query: "a new pup in the family?", max_tokens: 120 }
        const hybrid = yield* search({ ...query, method: "hybrid" })
        // The first span (the best window, with any touching one merged in conversation order).
        expect(hybrid.context?.split("\n\n")[0]).toContain("[2024-05-06] Alice: Also my sister finally adopted a greyhound called Biscuit.")
        const keyword = yield* search({ ...query, method: "keyword" })
        expect(keyword.context ?? "").not.toContain("Biscuit")
      }).pipe(Effect.provide(vectorSearchTestLayer(layer, { database })))
    }))
})
