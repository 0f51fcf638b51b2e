import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { fakeEmbedding } from "../support/FakeEmbedder.js"
import * as Database from "../../src/Storage/Database.js"
import { CODE_SHARDS, CODE_TABLE } from "../../src/Indexing/SqliteNearest.js"
import { SqliteVectorStore } from "../../src/Indexing/SqliteVectorStore.js"
import { vectorOwner, VectorStore } from "../../src/Indexing/VectorStore.js"

const storeLayer = SqliteVectorStore.pipe(Layer.provideMerge(Database.layerMemory))

const TOPICS = ["paella saffron rice", "berlin robotics startup", "marathon running canal", "cat named miso", "lisbon trip friday"]

/** `n` items per owner: each a topic plus noise words, registered in search_items as the triggers would. */
const seed = (dimensions: number, owners: ReadonlyArray<string>, n: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const store = yield* VectorStore
    yield* store.prepare({ model: "fake", dimensions })
    let key = 0
    const texts = new Map<number, string>()
    const entries = owners.flatMap((owner) =>
      Array.from({ length: n }, (_, i) => {
        key++
        const text = `${TOPICS[i % TOPICS.length]} note${i} word${(i * 7) % 13}`
        texts.set(key, text)
        return { item_key: key, owner, vector: fakeEmbedding(text, dimensions) }
      })
    )
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`INSERT INTO search_items ${sql.insert(entries.map((e) => ({ item_key: e.item_key, item_id: `i${e.item_key}`, kind: "episode", has_cjk: 0 })))}`
      yield* store.replace(entries, dimensions)
    }))
    return texts
  })

describe("VectorStore", () => {
  it.effect("exact and two-stage (binary codes, then exact re-scoring) searches agree on clear neighbours, per owner", () =>
    Effect.gen(function*() {
      const store = yield* VectorStore
      const alice = vectorOwner("default", "default", "alice", "episode")
      const bob = vectorOwner("default", "default", "bob", "episode")
      const texts = yield* seed(64, [alice, bob], 200)
      const query = fakeEmbedding("cat named miso note3 word8", 64)
      const exact = yield* store.nearest(alice, query, 10, 64)
      const twoStage = yield* store.nearest(alice, query, 10, 64, 0)
      expect(exact).toHaveLength(10)
      expect(twoStage).toHaveLength(10)
      // The item with that very text is nearest, in both; only alice's items (keys 1..200) come back.
      expect(texts.get(exact[0]!.item_key)).toBe("cat named miso note3 word8")
      expect(twoStage[0]).toEqual(exact[0])
      expect([...exact, ...twoStage].every((n) => n.item_key <= 200)).toBe(true)
      // Re-scored exactly: distances ascend and equal the exact ones for the same keys.
      const exactDistance = new Map(exact.map((n) => [n.item_key, n.distance]))
      const distances = twoStage.map((n) => n.distance)
      expect(distances).toEqual([...distances].sort((a, b) => a - b))
      for (const n of twoStage) if (exactDistance.has(n.item_key)) expect(n.distance).toBeCloseTo(exactDistance.get(n.item_key)!, 6)
      // Candidates are re-scored exactly: once the binary stage passes every item of the owner
      // (k = 100 asks for 200 candidates), the answer is the exact one.
      const distancesOf = (ns: ReadonlyArray<{ distance: number }>) => ns.map((n) => n.distance.toFixed(6))
      const everything = yield* store.nearest(alice, query, 100, 64, 0)
      expect(distancesOf(everything)).toEqual(distancesOf(yield* store.nearest(alice, query, 100, 64)))
    }).pipe(Effect.provide(storeLayer)))

  it.effect("widths not divisible by 8 are always scored exactly", () =>
    Effect.gen(function*() {
      const store = yield* VectorStore
      const owner = vectorOwner("default", "default", "alice", "fact")
      const texts = yield* seed(12, [owner], 30)
      const [first] = yield* store.nearest(owner, fakeEmbedding("lisbon trip friday note4 word2", 12), 3, 12, 0)
      expect(texts.get(first!.item_key)).toBe("lisbon trip friday note4 word2")
    }).pipe(Effect.provide(storeLayer)))

  it.effect("records the model; another model is a mismatch until reset, which drops every vector", () =>
    Effect.gen(function*() {
      const store = yield* VectorStore
      yield* seed(16, [vectorOwner("a", "b", "c", "episode")], 5)
      expect(yield* store.state({ model: "fake", dimensions: 16 })).toEqual({ _tag: "Ready" })
      expect(yield* store.prepare({ model: "other", dimensions: 32 })).toEqual({ _tag: "Mismatch", stored: { model: "fake", dimensions: 16 } })
      expect(yield* store.count).toBe(5)
      const sql = yield* SqlClient.SqlClient
      yield* sql.withTransaction(store.reset({ model: "other", dimensions: 32 }))
      expect(yield* store.state({ model: "other", dimensions: 32 })).toEqual({ _tag: "Ready" })
      expect(yield* store.count).toBe(0)
    }).pipe(Effect.provide(storeLayer)))

  it.effect("an owner's binary codes are spread over CODE_SHARDS partitions, and every item is found through them", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* VectorStore
      const alice = vectorOwner("default", "default", "alice", "episode")
      const texts = yield* seed(64, [alice], 40)
      const partitions = (yield* sql<{ owner: string }>`SELECT DISTINCT owner FROM ${sql.literal(CODE_TABLE)} ORDER BY owner`).map((r) => r.owner)
      expect(partitions).toEqual(Array.from({ length: CODE_SHARDS }, (_, shard) => `${alice}#${shard}`))
      // Each item, searched for by its own text through the binary stage alone, comes first.
      for (const [key, text] of texts) {
        const [first] = yield* store.nearest(alice, fakeEmbedding(text, 64), 10, 64, 0)
        expect(first?.item_key).toBe(key)
      }
    }).pipe(Effect.provide(storeLayer)))

  it.effect("codes of another layout (one partition per owner, as before sharding) are rebuilt from the stored vectors at startup", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* VectorStore
      const alice = vectorOwner("default", "default", "alice", "episode")
      const texts = yield* seed(64, [alice], 40)
      const query = fakeEmbedding(texts.get(7)!, 64)
      const before = yield* store.nearest(alice, query, 5, 64, 0)
      // The old layout: codes under the plain owner (vec0 cannot update a partition key), no layout recorded.
      const codes = yield* sql<{ rowid: number; embedding: Uint8Array }>`SELECT rowid, embedding FROM ${sql.literal(CODE_TABLE)}`
      yield* sql`DELETE FROM ${sql.literal(CODE_TABLE)}`
      for (const code of codes) {
        yield* sql`INSERT INTO ${sql.literal(CODE_TABLE)} (rowid, owner, embedding) VALUES (${BigInt(code.rowid)}, ${alice}, vec_bit(${code.embedding}))`
      }
      yield* sql`DELETE FROM search_meta WHERE key = 'code_layout'`
      expect(yield* store.nearest(alice, query, 5, 64, 0)).toEqual([])
      expect(yield* store.prepare({ model: "fake", dimensions: 64 })).toEqual({ _tag: "Ready" })
      expect(yield* store.nearest(alice, query, 5, 64, 0)).toEqual(before)
      expect(before[0]?.item_key).toBe(7)
    }).pipe(Effect.provide(storeLayer)))
})
