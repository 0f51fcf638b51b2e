import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { FakeLlmHandler } from "../support/FakeLlm.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "../support/MemoryTestLayer.js"
import { addRequest, BASE_TS, locateIds, userMessage } from "../support/Messages.js"
import { engines } from "../support/Engines.js"

/**
 * The original regression (concurrent adds on one session must not lose messages), run with the
 * real lock and with the lock replaced by a no-op: the compare-and-set commit alone must hold the
 * invariant "every accepted id is in exactly one place".
 */

/**
 * Like a real model, the fake takes a moment to answer, so concurrent calls all read the buffer
 * before any of them commits: exactly the window the original bug lived in.
 */
const slowly = (answer: string) => Effect.as(Effect.sleep("5 millis"), answer)

const answering = (boundaries: ReadonlyArray<number>): FakeLlmHandler => () => slowly(boundaryAnswer(boundaries))

const handlers: ReadonlyArray<[string, FakeLlmHandler]> = [
  ["a sentinel index past the end (never cuts)", answering([999])],
  ["no cut", answering([])],
  ["a cut after 2", answering([2])],
  ["cuts after 1 and 3", answering([1, 3])]
]

const expectExactlyOnce = (found: ReadonlyArray<string>, expected: ReadonlyArray<string>) => {
  expect(found.length).toBe(new Set(found).size)
  expect([...found].sort()).toEqual([...expected].sort())
}

const runRace = (batches: ReadonlyArray<ReadonlyArray<ReturnType<typeof userMessage>>>, session = "s_race") =>
  Effect.gen(function*() {
    const memory = yield* Memory
    yield* Effect.all(batches.map((batch) => memory.add(addRequest(session, batch))), { concurrency: "unbounded" })
    const expected = batches.flat().map((m) => m.message_id!)
    const before = yield* locateIds(memory, session)
    expectExactlyOnce(before.all, expected)
    // Flushing afterwards closes everything: still exactly once, and nothing left buffered.
    yield* memory.flush(addRequest(session, batches[0]!))
    const after = yield* locateIds(memory, session)
    expect(after.buffered).toEqual([])
    expectExactlyOnce(after.inCells, expected)
  })

const twoBatchesOfFour = [
  Array.from({ length: 4 }, (_, i) => userMessage(i, "alice", BASE_TS + i * 1000, { message_id: `a-${i}` })),
  Array.from({ length: 4 }, (_, i) => userMessage(i + 100, "bob", BASE_TS + 100_000 + i * 1000, { message_id: `b-${i}` }))
]

const fourBatchesOfThree = Array.from({ length: 4 }, (_, b) =>
  Array.from({ length: 3 }, (_, i) =>
    userMessage(b * 10 + i, `u${b}`, BASE_TS + (b * 10 + i) * 1000, { message_id: `u${b}-${i}` })))

const tenBatchesWithoutIds = Array.from({ length: 10 }, (_, b) =>
  Array.from({ length: 5 }, (_, i) => userMessage(b * 10 + i, `p${b % 3}`, BASE_TS + (b * 10 + i) * 997)))

/**
 * Each race under the default selective strategy (which often does not ask on add: the flush
 * asks), under it asking about every new message (so concurrent cycles read, judge and write the
 * seen marks), and under the EverOS every-add strategy.
 */
const strategies: ReadonlyArray<[string, Record<string, string>]> = [
  ["selective (default)", {}],
  ["selective asking on every new message", { ENGRAM_BOUNDARY_ASK_TOKENS: "1" }],
  ["every_add", { ENGRAM_BOUNDARY_STRATEGY: "every_add" }]
]

/** Each engine runs the same races (Postgres: a fresh database per test on the run's cluster). */
for (const engine of engines()) {
const database = engine.fresh
describe.skipIf(engine.skipped !== undefined)(`${engine.name}${engine.skipped === undefined ? "" : ` (skipped: ${engine.skipped})`}`, () => {
layer(textServices, { excludeTestServices: true })("concurrent adds on one session", (it) => {
  for (const [strategy, env] of strategies) for (const lock of ["real", "noop"] as const) {
    describe(`${strategy}, with the ${lock} lock`, () => {
      for (const [name, handler] of handlers) {
        it.effect(`2 concurrent batches of 4, ${name}`, () =>
          runRace(twoBatchesOfFour).pipe(Effect.provide(memoryTestLayer({ llm: handler, lock, env, database }))))

        it.effect(`4 concurrent batches of 3, ${name}`, () =>
          runRace(fourBatchesOfThree).pipe(Effect.provide(memoryTestLayer({ llm: handler, lock, env, database }))))
      }

      it.effect("10 concurrent batches of 5 with derived ids and cuts that vary per call", () =>
        Effect.gen(function*() {
          const memory = yield* Memory
          yield* Effect.all(tenBatchesWithoutIds.map((batch) => memory.add(addRequest("s_many", batch))), {
            concurrency: "unbounded"
          })
          const found = yield* locateIds(memory, "s_many")
          expect(found.all.length).toBe(50)
          expect(new Set(found.all).size).toBe(50)
          yield* memory.flush(addRequest("s_many", tenBatchesWithoutIds[0]!))
          const after = yield* locateIds(memory, "s_many")
          expect(after.buffered).toEqual([])
          expect(new Set(after.inCells).size).toBe(50)
          expect(after.inCells.length).toBe(50)
        }).pipe(Effect.provide(memoryTestLayer({ llm: (_request, call) => slowly(boundaryAnswer([1 + (call % 3)])), lock, env, database }))))

      it.effect("3 different sessions", () =>
        Effect.gen(function*() {
          const memory = yield* Memory
          const sessions = ["s_a", "s_b", "s_c"]
          const batchOf = (sid: string) =>
            Array.from({ length: 3 }, (_, i) => userMessage(i, sid, BASE_TS + i * 1000, { message_id: `${sid}-${i}` }))
          yield* Effect.all(sessions.map((sid) => memory.add(addRequest(sid, batchOf(sid)))), { concurrency: "unbounded" })
          for (const sid of sessions) {
            const found = yield* locateIds(memory, sid)
            expectExactlyOnce(found.all, batchOf(sid).map((m) => m.message_id!))
          }
        }).pipe(Effect.provide(memoryTestLayer({ llm: answering([2]), lock, env, database }))))
    })
  }
})

layer(textServices, { excludeTestServices: true })("the lock keeps the detector from seeing the same messages twice", (it) => {
  it.effect("with the real lock no message is ever shown to two concurrent detector calls", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      yield* Effect.all(fourBatchesOfThree.map((batch) => memory.add(addRequest("s_once", batch))), {
        concurrency: "unbounded"
      })
      const found = yield* locateIds(memory, "s_once")
      // Every call cut everything but the last message, so at most one message is buffered.
      expect(found.buffered.length).toBeLessThanOrEqual(1)
      expectExactlyOnce(found.all, fourBatchesOfThree.flat().map((m) => m.message_id!))
    }).pipe(
      Effect.provide(memoryTestLayer({
        database,
        llm: (request) => {
          const lines = request.messages[1]!.content.split("\n").filter((l) => /^\[\d+\]/.test(l)).length
          return slowly(boundaryAnswer([lines - 1]))
        }
      }))
    ))
})
})
}
