import { describe, expect, layer } from "@effect/vitest"
import type { SqlClient } from "@effect/sql"
import { Effect, Either, type Layer } from "effect"
import { Memory } from "../../src/Memorize/Memory.js"
import { GroupCommit } from "../../src/Storage/GroupCommit.js"
import { forEachEngine } from "../support/Engines.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "../support/MemoryTestLayer.js"
import { addRequest, BASE_TS, locateIds, userMessage } from "../support/Messages.js"

/**
 * Group commit: concurrent requests' writes share transactions. The invariants of memorize must
 * hold exactly as without it, and one failing write must fail alone.
 */

/** Closes everything but the last message, so every add also commits a memcell. */
const closeAllButLast = (request: { messages: ReadonlyArray<{ content: string }> }) => {
  const n = request.messages[1]!.content.split("\n").filter((l) => /^\[\d+\]/.test(l)).length
  return boundaryAnswer([n - 1])
}

const testLayer = (database: Layer.Layer<SqlClient.SqlClient>) =>
  memoryTestLayer({ llm: closeAllButLast, database, env: { ENGRAM_BOUNDARY_STRATEGY: "every_add" } })

// Postgres too: a failed write rolls back to its savepoint there as on SQLite.
forEachEngine((engine) => describe("GroupCommit", () => {
  layer(textServices)((it) => {
    it.effect("a conflicting add in a shared transaction fails alone; its batch-mates are stored", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const groupCommit = yield* GroupCommit
        // The conflict: this id is stored first with other content.
        yield* memory.add(addRequest("owner", [userMessage(0, "alice", BASE_TS, { message_id: "taken" })]))
        const before = yield* groupCommit.stats

        const good = Array.from({ length: 24 }, (_, s) =>
          addRequest(`mate-${s}`, [userMessage(s, "bob", BASE_TS + s * 1000, { message_id: `mate-${s}-0` })]))
        const bad = addRequest("owner", [
          userMessage(1, "carol", BASE_TS + 5000, { message_id: "fresh" }),
          userMessage(2, "carol", BASE_TS + 6000, { message_id: "taken" })
        ])
        const requests = [...good.slice(0, 12), bad, ...good.slice(12)]
        const results = yield* Effect.all(requests.map((r) => Effect.either(memory.add(r))), { concurrency: "unbounded" })

        const after = yield* groupCommit.stats
        // The adds really shared transactions (otherwise this test proves nothing about batching).
        expect(after.writes - before.writes).toBeGreaterThan(after.batches - before.batches)
        expect(after.largestBatch).toBeGreaterThan(1)

        const badResult = results[12]!
        expect(Either.isLeft(badResult) && badResult.left._tag).toBe("MessageIdConflict")
        for (const [i, result] of results.entries()) {
          if (i !== 12) expect(Either.isRight(result)).toBe(true)
        }
        for (let s = 0; s < good.length; s++) {
          expect((yield* locateIds(memory, `mate-${s}`)).all).toEqual([`mate-${s}-0`])
        }
        // Nothing of the refused batch was stored, not even its fresh message.
        expect((yield* locateIds(memory, "owner")).all).toEqual(["taken"])
      }).pipe(Effect.provide(testLayer(engine.fresh))))

    it.effect("unbounded concurrent adds, retries included, store every message exactly once", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const groupCommit = yield* GroupCommit
        const sessions = 6
        const batches = Array.from({ length: 60 }, (_, b) =>
          addRequest(`s-${b % sessions}`, Array.from({ length: 3 }, (_, i) =>
            userMessage(b * 10 + i, b % 2 === 0 ? "alice" : "bob", BASE_TS + (b * 10 + i) * 1000, { message_id: `b${b}-${i}` }))))
        // Every batch sent twice at once: a client retrying while its first attempt is still in flight.
        const requests = [...batches, ...batches]
        yield* Effect.all(requests.map((r) => memory.add(r)), { concurrency: "unbounded", discard: true })

        expect((yield* groupCommit.stats).largestBatch).toBeGreaterThan(1)
        for (let s = 0; s < sessions; s++) {
          const session = `s-${s}`
          const expected = batches.filter((r) => r.session_id === session).flatMap((r) => r.messages.map((m) => m.message_id!))
          const found = yield* locateIds(memory, session)
          expect(found.all.length).toBe(new Set(found.all).size)
          expect([...found.all].sort()).toEqual([...expected].sort())
          yield* memory.flush(addRequest(session, []))
          const flushed = yield* locateIds(memory, session)
          expect(flushed.buffered).toEqual([])
          expect([...flushed.inCells].sort()).toEqual([...expected].sort())
        }
      }).pipe(Effect.provide(testLayer(engine.fresh))))

    it.effect("an add's messages and the memcell they close are one write; a retried add still answers what it stored", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const groupCommit = yield* GroupCommit
        const message = (i: number) => userMessage(i, i % 2 === 0 ? "alice" : "bob", BASE_TS + i * 1000, { message_id: `one-${i}` })
        yield* memory.add(addRequest("one", [0, 1, 2].map(message)))
        const before = yield* groupCommit.stats
        const second = addRequest("one", [3, 4, 5].map(message))
        const result = yield* memory.add(second)
        const after = yield* groupCommit.stats
        expect(result).toMatchObject({ message_count: 3, status: "extracted" })
        expect(after.writes - before.writes).toBe(1)
        // The same request again: nothing new, nothing duplicated (it takes the two-step way).
        expect(yield* memory.add(second)).toMatchObject({ message_count: 0 })
        const found = yield* locateIds(memory, "one")
        expect([...found.all].sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `one-${i}`))
        expect(found.all.length).toBe(new Set(found.all).size)
        expect(found.buffered).toEqual(["one-5"])
      }).pipe(Effect.provide(testLayer(engine.fresh))))
  })
}))
