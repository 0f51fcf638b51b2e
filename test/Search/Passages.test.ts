import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { ScopeId, type StoredMessage } from "../../src/Domain/Message.js"
import { SearchRequest, type SearchRequestInput } from "../../src/Domain/SearchRequest.js"
import { Search } from "../../src/Search/Search.js"
import { DerivedRepo, episodeIdOf } from "../../src/Extraction/DerivedRepo.js"
import { memcellOf } from "../support/Memcells.js"
import { keywordSearchTestLayer } from "../support/SearchTestLayer.js"
import { vi } from "vitest"
import { WEEKEND_CHAT } from "../fixtures/weekendChat.js"

// Each test builds a database, the tokenizer and the lexicon: seconds on a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 })

const T0 = Date.UTC(2024, 4, 6, 12, 0)

const message = (cell: string, i: number, sender: string, content: string, app = "default"): StoredMessage => ({
  seq: i,
  message_id: `${cell}-${i}`,
  app_id: ScopeId.make(app),
  project_id: ScopeId.make("default"),
  session_id: `s-${cell}`,
  sender_id: sender,
  sender_name: sender === "alice" ? "Alice" : null,
  role: sender === "assistant" ? "assistant" : "user",
  timestamp: T0 + i * 60_000,
  content,
  tool_calls: null,
  tool_call_id: null,
  token_count: 10,
  memcell_id: cell
})

/** A long conversation where one line (index 5) is about the query and the rest is filler. */
const aliceMessages = WEEKEND_CHAT.map((text, i) => message("mc-a", i, i % 2 === 0 ? "assistant" : "alice", text))

const bobMessages = [
  "My neighbour has a greyhound that barks at night.",
  "That must keep you awake.",
  "Yes, I bought earplugs for the greyhound noise."
].map((text, i) => message("mc-b", i, i % 2 === 0 ? "bob" : "assistant", text))

const otherAppMessages = [
  "In the other app I talked about a greyhound race.",
  "Races are fast."
].map((text, i) => message("mc-o", i, i === 0 ? "alice" : "assistant", text, "other"))

const episode = (user_id: string, content: string) => ({ user_id, title: "Chat", summary: "A chat.", content })

const write = (messages: ReadonlyArray<StoredMessage>, users: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const derived = yield* DerivedRepo
    const cell = memcellOf(messages[0]!.memcell_id!, messages)
    const transcript = messages.map((m) => `${m.sender_id}: ${m.content}`).join("\n")
    yield* sql.withTransaction(
      derived.replaceEpisodes(cell, users.map((u) => episode(u, transcript)), "test", T0, messages)
    )
    return cell
  })

const seed = Effect.gen(function*() {
  yield* write(aliceMessages, ["alice"])
  yield* write(bobMessages, ["bob"])
  yield* write(otherAppMessages, ["alice"])
})

const search = (input: SearchRequestInput) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(SearchRequest)(input)), (request) => Effect.flatMap(Search, (s) => s.search(request)))

const count = (query: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<{ n: number }>(query)).pipe(Effect.map((rows) => rows[0]!.n))
const passageMatches = (term: string) => count(`SELECT COUNT(*) AS n FROM passages_fts WHERE passages_fts MATCH '"${term}"'`)

const withSeed = <A, E, R>(test: Effect.Effect<A, E, R>) => Effect.zipRight(seed, test).pipe(Effect.provide(keywordSearchTestLayer()))

describe("passages: query-focused excerpts", () => {
  it.effect("an episode shows the lines that match, not its whole transcript, and keeps full provenance", () =>
    withSeed(Effect.gen(function*() {
      const result = yield* search({ user_id: "alice", query: "greyhound Biscuit" })
      expect(result.episodes.map((e) => e.memcell_id)).toEqual(["mc-a"])
      const top = result.episodes[0]!
      expect(top.episode).toContain("[2024-05-06] Alice: Also my sister finally adopted a greyhound called Biscuit.")
      expect(top.episode).not.toContain("sailing")
      expect(top.episode.length).toBeLessThan(aliceMessages.map((m) => m.content).join("\n").length / 2)
      // Provenance stays the whole memcell; the full text is still the stored episode.
      expect(top.message_ids).toEqual(aliceMessages.map((m) => m.message_id))
      expect(top.subject).toBe("Chat")
      expect(top.summary).toBe("A chat.")
    })))

  it.effect("excerpts never show text of another user or another app", () =>
    withSeed(Effect.gen(function*() {
      const alice = yield* search({ user_id: "alice", query: "greyhound barks earplugs race" })
      const text = alice.episodes.map((e) => e.episode).join("\n")
      expect(alice.episodes.map((e) => e.memcell_id)).toEqual(["mc-a"])
      expect(text).not.toMatch(/earplugs|barks|race/)
      const bob = yield* search({ user_id: "bob", query: "greyhound Biscuit" })
      expect(bob.episodes.map((e) => e.memcell_id)).toEqual(["mc-b"])
      expect(bob.episodes[0]!.episode).not.toMatch(/Biscuit|sister/)
      expect(bob.episodes[0]!.episode).toContain("greyhound")
      const other = yield* search({ user_id: "alice", app_id: "other", query: "greyhound" })
      expect(other.episodes.map((e) => e.memcell_id)).toEqual(["mc-o"])
      expect(other.episodes[0]!.episode).not.toMatch(/Biscuit|earplugs/)
    })))

  it.effect("each user's episode of a shared memcell gets its own passages, written with the episode rows", () =>
    Effect.provide(
      Effect.gen(function*() {
        yield* write(aliceMessages, ["alice", "assistant"])
        expect(yield* count("SELECT COUNT(*) AS n FROM passages")).toBe(2 * aliceMessages.length)
        // A line is indexed in its own window and its two neighbours' windows, per episode.
        expect(yield* passageMatches("biscuit")).toBe(2 * 3)
        const both = yield* Effect.all([
          search({ user_id: "alice", query: "Biscuit" }),
          search({ user_id: "assistant", query: "Biscuit" })
        ])
        expect(both.map((r) => r.episodes.map((e) => e.id))).toEqual([
          [episodeIdOf("mc-a", "alice")],
          [episodeIdOf("mc-a", "assistant")]
        ])
      }),
      keywordSearchTestLayer()
    ))

  it.effect("re-running the extraction replaces the passages; no stale entry is left", () =>
    withSeed(Effect.gen(function*() {
      const changed = aliceMessages.map((m) =>
        m.message_id === "mc-a-5" ? { ...m, content: "Also my sister finally adopted a poodle called Pretzel." } : m
      )
      yield* write(changed, ["alice"])
      expect(yield* passageMatches("biscuit")).toBe(0)
      expect(yield* passageMatches("pretzel")).toBe(3)
      expect(yield* count("SELECT COUNT(*) AS n FROM passages WHERE episode_id LIKE 'ep_%'")).toBe(
        aliceMessages.length + bobMessages.length + otherAppMessages.length
      )
      const result = yield* search({ user_id: "alice", query: "Pretzel" })
      expect(result.episodes[0]!.episode).toContain("poodle called Pretzel")
    })))

  it.effect("deleting episode rows (as forget does) removes their passages from the table and the index", () =>
    withSeed(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`DELETE FROM episodes WHERE memcell_id = 'mc-a'`
      expect(yield* passageMatches("biscuit")).toBe(0)
      expect(yield* count("SELECT COUNT(*) AS n FROM passages")).toBe(bobMessages.length + otherAppMessages.length)
      expect((yield* search({ user_id: "alice", query: "greyhound Biscuit" })).episodes).toEqual([])
      // INSERT OR REPLACE of an episode fires no delete trigger, yet leaves no stale passages.
      yield* sql`
        INSERT OR REPLACE INTO episodes (episode_id, memcell_id, app_id, project_id, session_id, user_id, title, content, summary,
          sender_ids, message_ids, timestamp, created_at, extractor)
        SELECT episode_id, memcell_id, app_id, project_id, session_id, user_id, title, content, summary, sender_ids,
          message_ids, timestamp, created_at, extractor FROM episodes WHERE memcell_id = 'mc-b'`
      expect(yield* passageMatches("earplugs")).toBe(0)
      expect(yield* count("SELECT COUNT(*) AS n FROM passages")).toBe(otherAppMessages.length)
    })))

  it.effect("a rolled-back episode write leaves no passages", () =>
    Effect.provide(
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const derived = yield* DerivedRepo
        const cell = memcellOf("mc-a", aliceMessages)
        const failed = yield* sql.withTransaction(
          Effect.zipRight(derived.replaceEpisodes(cell, [episode("alice", "x")], "test", T0, aliceMessages), Effect.fail("boom"))
        ).pipe(Effect.flip)
        expect(failed).toBe("boom")
        expect(yield* count("SELECT COUNT(*) AS n FROM passages")).toBe(0)
        expect(yield* passageMatches("biscuit")).toBe(0)
      }),
      keywordSearchTestLayer()
    ))
})

describe("context: the best evidence within max_tokens", () => {
  it.effect("is absent without max_tokens, and with it holds the matching lines, dated, with their message ids, within the budget", () =>
    withSeed(Effect.gen(function*() {
      const plain = yield* search({ user_id: "alice", query: "greyhound Biscuit" })
      expect(plain).not.toHaveProperty("context")
      expect(plain).not.toHaveProperty("context_lines")

      const result = yield* search({ user_id: "alice", query: "greyhound Biscuit", max_tokens: 200 })
      const context = result.context!
      const lines = result.context_lines!
      // The matching line is in the best span (its lines share the best score).
      expect(lines.find((l) => l.message_ids[0] === "mc-a-5")).toEqual({
        kind: "message",
        text: "[2024-05-06] Alice: Also my sister finally adopted a greyhound called Biscuit.",
        message_ids: ["mc-a-5"],
        score: lines[0]!.score
      })
      for (const line of lines) {
        expect(context).toContain(line.text)
        expect(line.text).toMatch(/^\[2024-05-06\] [^:]+: /)
      }
      expect(new Set(lines.map((l) => l.message_ids[0])).size).toBe(lines.length)
      // Only alice's memory: bob's greyhound lines never show.
      expect(context).not.toMatch(/earplugs|barks/)
      expect(result.context_tokens).toBeLessThanOrEqual(200)
      expect(result.context_tokens).toBeGreaterThan(0)
    })))

  it.effect("shows a matching fact of few sources as a line of its own, with its sources, unless the lines above show them", () =>
    withSeed(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const derived = yield* DerivedRepo
      // Said in other words than the query's, so no window matches: only the fact says it.
      const puppy = [message("mc-p", 0, "alice", "We collected the new puppy from the shelter today."), message("mc-p", 1, "assistant", "How lovely!")]
      const cell = yield* write(puppy, ["alice"])
      yield* sql.withTransaction(derived.replaceFacts(cell, [
        { user_id: "alice", content: "Alice's sister's greyhound is named Biscuit.", message_ids: ["mc-p-0"] },
        { user_id: "alice", content: "Alice talked about a greyhound called Biscuit for a long time.", message_ids: ["mc-p-0", "mc-p-1", "mc-a-5", "mc-a-4"] }
      ], "test", T0))
      const mcA = memcellOf("mc-a", aliceMessages)
      yield* sql.withTransaction(derived.replaceFacts(mcA, [
        { user_id: "alice", content: "Biscuit came home with the sister.", message_ids: ["mc-a-5"] }
      ], "test", T0))
      const result = yield* search({ user_id: "alice", query: "greyhound Biscuit", max_tokens: 300 })
      const facts = result.context_lines!.filter((l) => l.kind === "fact")
      // The fact restating mc-a-5 ranks below the window showing that line, so it is left out; the
      // one of four sources is a summary, never a line.
      expect(facts.map((f) => [f.text, f.message_ids])).toEqual([["[2024-05-06] Alice's sister's greyhound is named Biscuit.", ["mc-p-0"]]])
      expect(result.context).toContain("[2024-05-06] Alice's sister's greyhound is named Biscuit.")
      expect(result.context).toContain("Alice: Also my sister finally adopted a greyhound called Biscuit.")
      expect(result.context_tokens).toBeLessThanOrEqual(300)
    })))

  it.effect("a fact matching one word of the question ranks below the window that quotes all of it", () =>
    withSeed(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const derived = yield* DerivedRepo
      yield* write([
        message("mc-c", 0, "alice", "What would you say is the toughest part of car restoration?"),
        message("mc-c", 1, "assistant", "Patience: the payoff is worth it, but the details are hard.")
      ], ["alice"])
      const car = yield* write([message("mc-d", 0, "alice", "I love my red car."), message("mc-d", 1, "assistant", "Nice!")], ["alice"])
      yield* sql.withTransaction(derived.replaceFacts(car, [
        { user_id: "alice", content: "Alice loves Alice's red car.", message_ids: ["mc-d-0"] }
      ], "test", T0))
      const result = yield* search({ user_id: "alice", query: "toughest part of car restoration", max_tokens: 300 })
      const lines = result.context_lines!.map((l) => l.message_ids.join(","))
      // Scored on a scale of its own (the best fact's bm25), the only matching fact came first.
      expect(lines[0]).toBe("mc-c-0")
      expect(lines.indexOf("mc-d-0")).toBeGreaterThan(lines.indexOf("mc-c-1"))
    })))

  it.effect("never exceeds a small budget, and refuses a max_tokens out of range naming the field", () =>
    withSeed(Effect.gen(function*() {
      const small = yield* search({ user_id: "alice", query: "greyhound Biscuit", max_tokens: 25 })
      expect(small.context_tokens).toBeLessThanOrEqual(25)
      const wide = yield* search({ user_id: "alice", query: "greyhound Biscuit", max_tokens: 400 })
      // A smaller budget shows a prefix's worth of the same ranking: its lines are among the wider one's.
      const wideIds = new Set(wide.context_lines!.map((l) => l.message_ids[0]))
      for (const line of small.context_lines!) expect(wideIds.has(line.message_ids[0])).toBe(true)
      for (const max_tokens of [0, 1.5, 40_000]) {
        const error = yield* Effect.flip(Schema.decodeUnknown(SearchRequest)({ user_id: "alice", query: "x", max_tokens }))
        expect(String(error)).toContain("max_tokens")
      }
    })))
})
