import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { AddRequest } from "../../src/Domain/Message.js"
import { SessionsRequest } from "../../src/Domain/SessionsRequest.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { MemoryReader } from "../../src/Reading/MemoryReader.js"
import { Lexicon } from "../../src/Text/Lexicon.js"
import { TokenCounter } from "../../src/Text/TokenCounter.js"
import { boundaryAnswer, memoryTestLayer } from "../support/MemoryTestLayer.js"

const TS = Date.UTC(2024, 4, 6, 9, 0)

const add = (input: typeof AddRequest.Encoded) =>
  Effect.flatMap(Memory, (memory) => Effect.flatMap(Schema.decodeUnknown(AddRequest)(input), memory.add))

const sessions = (input: typeof SessionsRequest.Encoded) =>
  Effect.flatMap(MemoryReader, (reader) => Effect.flatMap(Schema.decodeUnknown(SessionsRequest)(input), reader.sessions))

const message = (sender_id: string, timestamp: number, content: string) => ({ sender_id, role: "user" as const, timestamp, content })

const testLayer = MemoryReader.Default.pipe(
  // Pinned to asking the model on every add, so the cut after the first message happens on each add.
  Layer.provideMerge(memoryTestLayer({ llm: () => boundaryAnswer([1]), env: { ENGRAM_BOUNDARY_STRATEGY: "every_add" } })),
  Layer.provide(TokenCounter.Default),
  Layer.provide(Lexicon.Default)
)

layer(testLayer)("MemoryReader.sessions", (it) => {
  it.effect("lists the sessions a user sent messages in, newest activity first, within the scope, with their counts, a page at a time", () =>
    Effect.gen(function*() {
      yield* add({ session_id: "old", messages: [message("alice", TS, "Berlin is grey today"), message("bob", TS + 1, "so is Paris")] })
      yield* add({ session_id: "new", messages: [message("alice", TS + 10_000, "I adopted a cat"), message("alice", TS + 20_000, "She is called Mimi")] })
      yield* add({ session_id: "bobs", messages: [message("bob", TS + 30_000, "only bob here")] })
      yield* add({ session_id: "other-app", app_id: "shop", messages: [message("alice", TS + 40_000, "buying shoes")] })

      const all = yield* sessions({ user_id: "alice" })
      // The boundary model cut after the first message of each two-message add: one memcell each.
      expect(all).toEqual({
        sessions: [
          { session_id: "new", user_messages: 2, user_messages_buffered: 1, first_timestamp: TS + 10_000, last_timestamp: TS + 20_000 },
          { session_id: "old", user_messages: 1, user_messages_buffered: 0, first_timestamp: TS, last_timestamp: TS }
        ],
        total_count: 2,
        count: 2,
        page: 1,
        page_size: 20
      })
      const second = yield* sessions({ user_id: "alice", page: 2, page_size: 1 })
      expect(second.sessions.map((s) => s.session_id)).toEqual(["old"])
      expect(second).toMatchObject({ total_count: 2, count: 1 })
      expect((yield* sessions({ user_id: "alice", app_id: "shop" })).sessions.map((s) => s.session_id)).toEqual(["other-app"])
      expect((yield* sessions({ user_id: "bob" })).sessions.map((s) => s.session_id)).toEqual(["bobs", "old"])
      expect((yield* sessions({ user_id: "carol" })).total_count).toBe(0)
    }))

  it.effect("reads only the user's rows through the messages_by_sender index", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const plan = yield* sql<{ detail: string }>`
        EXPLAIN QUERY PLAN SELECT session_id, COUNT(*) FROM messages
        WHERE app_id = 'default' AND project_id = 'default' AND sender_id = 'alice' GROUP BY session_id`
      expect(plan.map((row) => row.detail).join(" | ")).toContain("messages_by_sender")
    }))
})
