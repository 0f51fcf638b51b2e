import { SqlClient, Statement } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { vi } from "vitest"
import { Memory } from "../../src/Memorize/Memory.js"
import { addRequest, keyOf } from "../support/Messages.js"
import { keywordSearchTestLayer, runQueuedJobs, searchAs } from "../support/SearchTestLayer.js"

// Each test builds a database, the tokenizer and the lexicon: seconds on a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 })

const T0 = Date.UTC(2024, 4, 6, 12, 0)

/** A user's history (consumed into memcells) and a few messages still buffered. */
const seed = Effect.gen(function*() {
  const memory = yield* Memory
  for (let s = 0; s < 3; s++) {
    yield* memory.add(addRequest(`old-${s}`, [0, 1, 2, 3].map((i) => ({
      message_id: `old-${s}-${i}`,
      sender_id: i % 2 === 0 ? "alice" : "bob",
      role: "user" as const,
      timestamp: T0 + (s * 10 + i) * 60_000,
      content: i % 2 === 0 ? `I repaired the garden fence on day ${s}.` : "Nice work on the fence."
    }))))
    yield* memory.flush(keyOf(`old-${s}`))
  }
  yield* memory.add(addRequest("live", [{ message_id: "live-0", sender_id: "alice", role: "user", timestamp: T0 + 3_600_000, content: "The fence needs paint now." }]))
  yield* runQueuedJobs
})

/** Every statement `effect` runs, as compiled SQL with its parameters. */
const capturing = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const statements: Array<readonly [string, ReadonlyArray<unknown>]> = []
    const result = yield* effect.pipe(Statement.withTransformer((self) =>
      Effect.sync(() => {
        statements.push(self.compile())
        return self
      })
    ))
    return { result, statements }
  })

describe("search's reads of the ledger", () => {
  // The ledger holds every message ever accepted; search must find the few it needs by index,
  // never by walking a user's history (which grows without bound).
  it.effect("never reads the messages table by the sender index or by a scan (SQLite's plans)", () =>
    Effect.gen(function*() {
      yield* seed
      const sql = yield* SqlClient.SqlClient
      const { result, statements } = yield* capturing(searchAs({ user_id: "alice", query: "garden fence", max_tokens: 300 }))
      expect(result.unprocessed_messages.map((m) => m.message_id)).toEqual(["live-0"])
      const onMessages = statements.filter(([text]) => /\bmessages\b/.test(text) && /^\s*(SELECT|WITH)\b/i.test(text))
      // The buffered messages, and the messages across memcell boundaries.
      expect(onMessages.length).toBeGreaterThanOrEqual(2)
      for (const [text, params] of onMessages) {
        const plan = yield* sql.unsafe<{ detail: string }>(`EXPLAIN QUERY PLAN ${text}`, params)
        const details = plan.map((row) => row.detail)
        expect(details.filter((d) => /\b(messages|m|o|b|a|f|l)\b USING (?:COVERING )?INDEX messages_by_sender/.test(d)), text).toEqual([])
        expect(details.filter((d) => /^SCAN (messages|m|o|b|a|f|l)\b/.test(d)), text).toEqual([])
      }
    }).pipe(Effect.provide(keywordSearchTestLayer())))
})
