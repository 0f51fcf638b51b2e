import type { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Schema } from "effect"
import { SearchRequest, type SearchRequestInput } from "../../src/Domain/SearchRequest.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { Search, SEARCH_TUNING } from "../../src/Search/Search.js"
import { corpus, DAY, episodeIdIn, factIdIn, seedCorpus, T0 } from "../fixtures/searchCorpus.js"
import { addRequest } from "../support/Messages.js"
import { keywordSearchTestLayer } from "../support/SearchTestLayer.js"
import { forEachEngine } from "../support/Engines.js"

/** Buffered (not yet segmented) messages: the fake model never cuts. */
const bufferMessages = Effect.gen(function*() {
  const memory = yield* Memory
  yield* memory.add(addRequest("s-live", [
    { message_id: "live-1", sender_id: "alice", role: "user", timestamp: T0 + 10 * DAY, content: "I just booked a kayak trip for Saturday." },
    { message_id: "live-2", sender_id: "assistant", role: "assistant", timestamp: T0 + 10 * DAY + 1000, content: "A kayak trip sounds fun!" },
    { message_id: "live-3", sender_id: "alice", role: "user", timestamp: T0 + 10 * DAY + 2000, content: "Also need new shoes." }
  ]))
  yield* memory.add(addRequest("s-bob-live", [
    { message_id: "bob-live-1", sender_id: "bob", role: "user", timestamp: T0 + 10 * DAY, content: "Looking at kayak rental prices." }
  ]))
})

const seeded = (database: Layer.Layer<SqlClient.SqlClient>) =>
  Layer.effectDiscard(Effect.zipRight(seedCorpus(), bufferMessages)).pipe(Layer.provideMerge(keywordSearchTestLayer({ database })))

const search = (input: SearchRequestInput) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(SearchRequest)(input)), (request) => Effect.flatMap(Search, (s) => s.search(request)))

const ids = (result: { episodes: ReadonlyArray<{ id: string }> }) => result.episodes.map((e) => e.id)

forEachEngine((engine) => layer(seeded(engine.fresh))("keyword search on the fixture corpus", (it) => {
  it.effect("finds an exact keyword, with provenance and the matching fact nested under its episode", () =>
    Effect.gen(function*() {
      const result = yield* search({ user_id: "alice", query: "paella" })
      expect(result.method).toBe("keyword")
      expect(Object.keys(result).sort()).toEqual(["agent_cases", "agent_skills", "episodes", "method", "profiles", "unprocessed_messages"])
      expect(result.profiles).toEqual([])
      const [top] = result.episodes
      expect(top).toMatchObject({
        id: episodeIdIn("mc-food"),
        user_id: "alice",
        app_id: "default",
        project_id: "default",
        session_id: "s-food",
        subject: "Cooking paella",
        type: "episode",
        memcell_id: "mc-food",
        message_ids: ["food-1", "food-2"],
        sender_ids: ["alice", "assistant"],
        timestamp: T0 + 2 * DAY
      })
      expect(top!.atomic_facts).toEqual([
        { id: factIdIn("mc-food", 0), content: "Alice's favourite dish is paella.", score: 1, message_ids: ["food-2"] }
      ])
      // First in the episode and fact lists; the fixture writes no messages, so no passage list
      // (like episodes stored before the passage index): their weights over the method's total.
      const { episodeWeight, factWeight, passageWeight } = SEARCH_TUNING
      expect(top!.score).toBeCloseTo((episodeWeight + factWeight) / (passageWeight + episodeWeight + factWeight), 12)
      expect(ids(result)).toEqual([episodeIdIn("mc-food")])
    }))

  it.effect("stems English words: running finds runs, moving finds moved", () =>
    Effect.gen(function*() {
      expect(ids(yield* search({ user_id: "alice", query: "running" }))).toEqual([episodeIdIn("mc-sport")])
      expect(ids(yield* search({ user_id: "alice", query: "moving" }))[0]).toBe(episodeIdIn("mc-berlin"))
    }))

  it.effect("ranks by bm25 with title weight: the episode about it beats a passing mention", () =>
    Effect.gen(function*() {
      const result = yield* search({ user_id: "alice", query: "Berlin robotics startup" })
      expect(ids(result)[0]).toBe(episodeIdIn("mc-berlin"))
      expect(result.episodes[0]!.atomic_facts.map((f) => f.id)).toEqual(
        expect.arrayContaining([factIdIn("mc-berlin", 0), factIdIn("mc-berlin", 1)])
      )
      // The fact that matches more of the query comes first.
      expect(result.episodes[0]!.atomic_facts[0]!.id).toBe(factIdIn("mc-berlin", 0))
    }))

  it.effect("searches CJK text: trigrams for 3+ characters, substrings for 2, Japanese too", () =>
    Effect.gen(function*() {
      expect(ids(yield* search({ user_id: "alice", query: "去北京旅行" }))).toEqual([episodeIdIn("mc-zh")])
      expect(ids(yield* search({ user_id: "alice", query: "北京" }))).toEqual([episodeIdIn("mc-zh")])
      expect(ids(yield* search({ user_id: "alice", query: "寿司を食べる" }))).toEqual([episodeIdIn("mc-ja")])
      expect(ids(yield* search({ user_id: "alice", query: "東京" }))).toEqual([episodeIdIn("mc-ja")])
      // Only the fact mentions Shanghai: the fact brings its episode.
      const shanghai = yield* search({ user_id: "alice", query: "上海出差" })
      expect(ids(shanghai)).toEqual([episodeIdIn("mc-zh")])
      expect(shanghai.episodes[0]!.atomic_facts.map((f) => f.content)).toEqual(["爱丽丝下周去上海出差。"])
      // Mixed query: the English part still uses the English index.
      expect(ids(yield* search({ user_id: "alice", query: "paella 北京" })).sort()).toEqual(
        [episodeIdIn("mc-food"), episodeIdIn("mc-zh")].sort()
      )
    }))

  it.effect("never fails on FTS syntax in the query; quoted operators are plain words", () =>
    Effect.gen(function*() {
      const hostile = [
        "\"", "\"\"", "\"unbalanced quote", "*", "Rust*", "AND", "OR", "NOT", "NEAR", "NEAR(", "(", ")", "((robotics",
        "-", "- berlin", "^", ":", "subject:paella", "{subject}: paella", "robotics AND", "AND OR NOT", "a\u0000b", "'; DROP TABLE episodes; --",
        "C++ AND Rust", "\"C++ AND Rust\"", "%", "_", "\\", "北\"京", "🙂", "   ...   "
      ]
      for (const query of hostile) {
        const exit = yield* Effect.exit(search({ user_id: "alice", query }))
        expect(Exit.isSuccess(exit), `query ${JSON.stringify(query)}`).toBe(true)
      }
      expect(ids(yield* search({ user_id: "alice", query: "\"C++ AND Rust\"" }))[0]).toBe(episodeIdIn("mc-syntax"))
      expect(ids(yield* search({ user_id: "alice", query: "NEAR(" }))).toEqual([episodeIdIn("mc-syntax")])
      expect(ids(yield* search({ user_id: "alice", query: "subject:paella" }))[0]).toBe(episodeIdIn("mc-food"))
    }))

  it.effect("applies filters: session, time range, OR lists, sender", () =>
    Effect.gen(function*() {
      const alice = (filters: unknown) => search({ user_id: "alice", query: "alice", top_k: -1, filters } as SearchRequestInput)
      expect(ids(yield* alice({ session_id: "s-sport" }))).toEqual([episodeIdIn("mc-sport")])
      expect(ids(yield* alice({ timestamp: { gte: T0 + 2 * DAY, lt: T0 + 3 * DAY } }))).toEqual([episodeIdIn("mc-food")])
      expect(ids(yield* alice({ timestamp: { gte: new Date(T0 + 2 * DAY).toISOString(), lt: T0 + 3 * DAY } }))).toEqual([
        episodeIdIn("mc-food")
      ])
      expect(ids(yield* alice({ OR: [{ session_id: "s-food" }, { session_id: "s-sport" }] })).sort()).toEqual(
        [episodeIdIn("mc-food"), episodeIdIn("mc-sport")].sort()
      )
      expect(ids(yield* alice({ sender_id: "bob" }))).toEqual([])
      expect(ids(yield* alice({ sender_id: { ne: "assistant" } }))).toEqual([])
      // Facts are filtered through their episode: the fact-only match respects the session filter.
      expect(ids(yield* search({ user_id: "alice", query: "Miso", filters: { session_id: "s-food" } }))).toEqual([])
      expect(ids(yield* search({ user_id: "alice", query: "Miso", filters: { session_id: "s-pets" } }))).toEqual([episodeIdIn("mc-pets")])
    }))

  it.effect("scopes strictly by app, project and user", () =>
    Effect.gen(function*() {
      expect(ids(yield* search({ user_id: "alice", query: "robotics" }))).toEqual([episodeIdIn("mc-berlin")])
      expect(ids(yield* search({ user_id: "bob", query: "robotics" }))).toEqual([episodeIdIn("mc-bob", "bob")])
      expect(ids(yield* search({ user_id: "alice", app_id: "other", query: "robotics" }))).toEqual([episodeIdIn("mc-other-app")])
      expect(ids(yield* search({ user_id: "alice", project_id: "elsewhere", query: "robotics" }))).toEqual([])
      expect(ids(yield* search({ user_id: "carol", query: "robotics" }))).toEqual([])
      // A user id that is also a word of someone else's text does not leak it.
      expect(ids(yield* search({ user_id: "robotics", query: "robotics" }))).toEqual([])
      expect(ids(yield* search({ user_id: "_-_", query: "robotics" }))).toEqual([episodeIdIn("mc-symbols", "_-_")])
      expect(ids(yield* search({ user_id: "bob", query: "北京旅行" }))).toEqual([episodeIdIn("mc-bob-zh", "bob")])
      expect(ids(yield* search({ user_id: "bob", query: "北京" }))).toEqual([episodeIdIn("mc-bob-zh", "bob")])
    }))

  it.effect("a fact hit brings its episode even when the episode text does not match", () =>
    Effect.gen(function*() {
      const result = yield* search({ user_id: "alice", query: "cat named Miso" })
      expect(ids(result)).toEqual([episodeIdIn("mc-pets")])
      expect(result.episodes[0]!.atomic_facts).toEqual([
        { id: factIdIn("mc-pets", 0), content: "Alice adopted a cat named Miso.", score: 1, message_ids: ["pets-2"] }
      ])
      // Found only through the fact list: the fact list's share of the keyword lists' weight.
      const { episodeWeight, factWeight, passageWeight } = SEARCH_TUNING
      expect(result.episodes[0]!.score).toBeCloseTo(factWeight / (passageWeight + episodeWeight + factWeight), 10)
    }))

  it.effect("top_k, -1 for all, and min_score bound the episodes", () =>
    Effect.gen(function*() {
      const englishAlice = corpus.filter((c) => c.app_id === undefined && c.episodes.some((e) => e.user_id === "alice" && /Alice/.test(e.content)))
      expect((yield* search({ user_id: "alice", query: "alice", top_k: -1 })).episodes).toHaveLength(englishAlice.length)
      expect((yield* search({ user_id: "alice", query: "alice", top_k: 2 })).episodes).toHaveLength(2)
      const all = yield* search({ user_id: "alice", query: "alice berlin", top_k: -1 })
      const scores = all.episodes.map((e) => e.score)
      expect(scores).toEqual([...scores].sort((a, b) => b - a))
      const threshold = scores[1]!
      const above = yield* search({ user_id: "alice", query: "alice berlin", top_k: -1, min_score: threshold })
      expect(above.episodes.every((e) => e.score >= threshold)).toBe(true)
      expect(above.episodes.length).toBeLessThan(all.episodes.length)
      expect((yield* search({ user_id: "alice", query: "alice", min_score: 1.01 })).episodes).toEqual([])
    }))

  it.effect("returns the owner's matching buffered messages, or every buffered message of a pinned session", () =>
    Effect.gen(function*() {
      const kayak = yield* search({ user_id: "alice", query: "kayaking" })
      expect(kayak.unprocessed_messages.map((m) => m.message_id).sort()).toEqual(["live-1", "live-2"])
      expect(kayak.unprocessed_messages.find((m) => m.message_id === "live-1")).toEqual({
        message_id: "live-1",
        session_id: "s-live",
        sender_id: "alice",
        role: "user",
        timestamp: T0 + 10 * DAY,
        content: "I just booked a kayak trip for Saturday."
      })
      expect((yield* search({ user_id: "bob", query: "kayak" })).unprocessed_messages.map((m) => m.message_id)).toEqual(["bob-live-1"])
      const pinned = yield* search({ user_id: "alice", query: "anything at all", filters: { session_id: "s-live" } })
      expect(pinned.unprocessed_messages.map((m) => m.message_id)).toEqual(["live-1", "live-2", "live-3"])
      // Another user's session stays invisible even when pinned.
      expect((yield* search({ user_id: "alice", query: "kayak", filters: { session_id: "s-bob-live" } })).unprocessed_messages).toEqual([])
    }))

  it.effect("answers CAPABILITY_UNAVAILABLE for vector, hybrid (no embedder) and agentic", () =>
    Effect.gen(function*() {
      for (const method of ["vector", "hybrid"] as const) {
        const error = yield* Effect.flip(search({ user_id: "alice", query: "paella", method }))
        expect(error._tag).toBe("CapabilityUnavailable")
        expect(error.message).toContain("ENGRAM_EMBED_BASE_URL")
      }
      const agentic = yield* Effect.flip(search({ user_id: "alice", query: "paella", method: "agentic" }))
      expect(agentic._tag).toBe("CapabilityUnavailable")
      expect(agentic.message).toContain("agentic search")
      expect((yield* search({ user_id: "alice", query: "paella", method: "keyword" })).method).toBe("keyword")
    }))
}))

describe("search request schema", () => {
  const decode = Schema.decodeUnknownEither(SearchRequest)
  const valid = { user_id: "alice", query: "paella" }
  layer(Layer.empty)((it) => {
    it("applies defaults and accepts the full contract", () => {
      const decoded = decode(valid)
      expect(decoded._tag === "Right" && decoded.right).toMatchObject({ app_id: "default", project_id: "default", top_k: 10 })
      expect(decode({ agent_id: "bot", query: "q", method: "hybrid", top_k: -1, radius: 0.5, min_score: 0.1, include_profile: true, filters: { session_id: "s" } })._tag)
        .toBe("Right")
    })
    it("rejects extra keys, both or neither of user_id/agent_id, bad top_k, long or blank queries", () => {
      for (
        const bad of [
          { ...valid, extra: 1 },
          { query: "q" },
          { ...valid, agent_id: "bot" },
          { ...valid, top_k: 0 },
          { ...valid, top_k: 101 },
          { ...valid, top_k: -2 },
          { ...valid, top_k: 1.5 },
          { ...valid, query: "" },
          { ...valid, query: "   " },
          { ...valid, query: "x".repeat(2001) },
          { ...valid, method: "semantic" },
          { ...valid, filters: { session: "s" } },
          { ...valid, radius: 2 }
        ]
      ) {
        expect(decode(bad)._tag, JSON.stringify(bad).slice(0, 80)).toBe("Left")
      }
      expect(decode({ ...valid, query: "x".repeat(2000) })._tag).toBe("Right")
    })
  })
})
