import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, TestClock } from "effect"
import { LlmUnavailable } from "../../src/Domain/Errors.js"
import type { FakeLlmHandler } from "../support/FakeLlm.js"
import { FakeLlm } from "../support/FakeLlm.js"
import { IdleFlusherLive } from "../../src/Memorize/IdleFlusher.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { SessionLock } from "../../src/Memorize/SessionLock.js"
import { boundaryAnswer, configLayer, memoryTestLayer, type MemoryTestOptions, textServices } from "../support/MemoryTestLayer.js"
import { addRequest, BASE_TS, keyOf, locateIds, userMessage } from "../support/Messages.js"

/**
 * These tests pin the EverOS protocol (the model is asked about the whole buffer on every add),
 * `ENGRAM_BOUNDARY_STRATEGY=every_add`; the default selective strategy has its own tests
 * (SelectiveBoundary.test.ts) and runs the race tests.
 */
const everyAddLayer = (options: MemoryTestOptions) =>
  memoryTestLayer({ ...options, env: { ENGRAM_BOUNDARY_STRATEGY: "every_add", ...options.env } })

const answering = (boundaries: ReadonlyArray<number>): FakeLlmHandler => () => boundaryAnswer(boundaries)

/** Boundaries chosen by a seeded generator: the same "random" model on every run. */
const seededModel = (seed: number): FakeLlmHandler => {
  let state = seed
  const next = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31)
  return (request) => {
    const n = request.messages[1]!.content.split("\n").filter((l) => /^\[\d+\]/.test(l)).length
    const cuts = Array.from({ length: next() % 3 }, () => 1 + (next() % Math.max(1, n)))
    return boundaryAnswer(cuts)
  }
}

const promptLineCount = (content: string) => content.split("\n").filter((l) => /^\[\d+\]/.test(l)).length

const batch = (from: number, count: number, sender = "alice", idPrefix = "m") =>
  Array.from({ length: count }, (_, i) => userMessage(from + i, sender, BASE_TS + (from + i) * 1000, { message_id: `${idPrefix}${from + i}` }))

layer(textServices)("Memory", (it) => {
  describe("sequential segmentation", () => {
    it.effect("an answer of [] keeps everything buffered", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const result = yield* memory.add(addRequest("s", batch(0, 3)))
        expect(result).toEqual({ message_count: 3, status: "accumulated", memcell_ids: [] })
        const found = yield* locateIds(memory, "s")
        expect(found.buffered).toEqual(["m0", "m1", "m2"])
        expect(found.memcells).toEqual([])
      }).pipe(Effect.provide(everyAddLayer({ llm: answering([]) }))))

    it.effect("[2] of 3 closes a memcell of 2 and keeps 1; a later add merges the old tail; flush drains", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const fake = yield* FakeLlm
        const first = yield* memory.add(addRequest("s", batch(0, 3)))
        expect(first.status).toBe("extracted")
        let found = yield* locateIds(memory, "s")
        expect(found.memcells.map((c) => c.message_ids)).toEqual([["m0", "m1"]])
        expect(found.buffered).toEqual(["m2"])
        expect(found.memcells[0]!.sender_ids).toEqual(["alice"])
        expect(found.memcells[0]!.timestamp).toBe(BASE_TS + 1000)

        yield* memory.add(addRequest("s", batch(3, 2, "bob")))
        const calls = yield* fake.calls
        // The second detector call saw the old tail plus the two new messages.
        expect(promptLineCount(calls[1]!.messages[1]!.content)).toBe(3)

        const flushed = yield* memory.flush(keyOf("s"))
        expect(flushed.status).toBe("extracted")
        found = yield* locateIds(memory, "s")
        expect(found.buffered).toEqual([])
        expect(found.memcells.map((c) => c.message_ids)).toEqual([["m0", "m1"], ["m2", "m3"], ["m4"]])
        expect(found.memcells[1]!.sender_ids).toEqual(["alice", "bob"])

        const again = yield* memory.flush(keyOf("s"))
        expect(again).toEqual({ status: "no_extraction", memcell_ids: [] })
      }).pipe(Effect.provide(everyAddLayer({ llm: () => boundaryAnswer([2]) }))))

    it.effect("ids are conserved across many rounds of adds and flushes", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const sent: Array<string> = []
        let next = 0
        for (let round = 0; round < 40; round++) {
          const size = 1 + ((round * 7) % 5)
          const messages = batch(next, size, round % 2 === 0 ? "alice" : "bob")
          next += size
          sent.push(...messages.map((m) => m.message_id!))
          yield* memory.add(addRequest("s", messages))
          if (round % 9 === 8) yield* memory.flush(keyOf("s"))
          const found = yield* locateIds(memory, "s")
          expect(found.all.length).toBe(sent.length)
          expect([...found.all].sort()).toEqual([...sent].sort())
        }
      }).pipe(Effect.provide(everyAddLayer({ llm: seededModel(42) }))))

    it.effect("retrying an already consumed batch creates nothing", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const withoutIds = Array.from({ length: 4 }, (_, i) => userMessage(i, "alice", BASE_TS + i * 1000))
        const first = yield* memory.add(addRequest("s", withoutIds))
        yield* memory.flush(keyOf("s"))
        const before = yield* locateIds(memory, "s")
        expect(before.buffered).toEqual([])
        const retry = yield* memory.add(addRequest("s", withoutIds))
        expect(retry).toEqual({ message_count: 0, status: "accumulated", memcell_ids: [] })
        const after = yield* locateIds(memory, "s")
        expect(after.memcells).toEqual(before.memcells)
        expect(after.buffered).toEqual([])
        expect(first.message_count).toBe(4)
      }).pipe(Effect.provide(everyAddLayer({ llm: answering([2]) }))))

    it.effect("two different messages with equal timestamps and batch positions never collide", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const a = yield* memory.add(addRequest("s", [userMessage(0, "alice", BASE_TS)]))
        const b = yield* memory.add(addRequest("s", [{ ...userMessage(0, "alice", BASE_TS), content: "another" }]))
        expect([a.message_count, b.message_count]).toEqual([1, 1])
        expect((yield* locateIds(memory, "s")).buffered.length).toBe(2)
      }).pipe(Effect.provide(everyAddLayer({ llm: answering([]) }))))
  })

  describe("message id conflicts", () => {
    it.effect("the same id with other content refuses the whole batch", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        yield* memory.add(addRequest("s", batch(0, 2)))
        const error = yield* memory.add(addRequest("s", [
          userMessage(9, "alice", BASE_TS + 9000, { message_id: "new-one" }),
          { ...batch(0, 1)[0]!, content: "edited" }
        ])).pipe(Effect.flip)
        expect(error._tag).toBe("MessageIdConflict")
        expect(error.message).toContain("messages.1")
        expect((yield* locateIds(memory, "s")).buffered).toEqual(["m0", "m1"])
      }).pipe(Effect.provide(everyAddLayer({ llm: answering([]) }))))

    it.effect("the same id in another session of the scope is a conflict", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        yield* memory.add(addRequest("s1", batch(0, 1)))
        const error = yield* memory.add(addRequest("s2", batch(0, 1))).pipe(Effect.flip)
        expect(error._tag).toBe("MessageIdConflict")
        expect((yield* locateIds(memory, "s2")).all).toEqual([])
      }).pipe(Effect.provide(everyAddLayer({ llm: answering([]) }))))
  })

  describe("model failures leave messages buffered", () => {
    it.effect("malformed answers are retried 3 times, then a typed failure", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const fake = yield* FakeLlm
        const error = yield* memory.add(addRequest("s", batch(0, 3))).pipe(Effect.flip)
        expect(error._tag).toBe("LlmMalformedAnswer")
        expect((yield* fake.calls).length).toBe(3)
        expect((yield* locateIds(memory, "s")).buffered).toEqual(["m0", "m1", "m2"])
      }).pipe(Effect.provide(everyAddLayer({ llm: () => "I think you should cut after two" }))))

    it.effect("an unreachable model fails typed; the next add after recovery consumes the backlog", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const error = yield* memory.add(addRequest("s", batch(0, 3))).pipe(Effect.flip)
        expect(error._tag).toBe("LlmUnavailable")
        expect((yield* locateIds(memory, "s")).buffered).toEqual(["m0", "m1", "m2"])
        const retried = yield* memory.add(addRequest("s", batch(0, 3)))
        expect(retried).toMatchObject({ message_count: 0, status: "extracted" })
        expect((yield* locateIds(memory, "s")).memcells.map((c) => c.message_ids)).toEqual([["m0", "m1"]])
      }).pipe(Effect.provide(everyAddLayer({
        llm: (_r, call) =>
          call === 0 ? Effect.fail(new LlmUnavailable({ reason: "connection refused", retryable: true })) : boundaryAnswer([2])
      }))))
  })

  describe("cuts made in code", () => {
    it.effect("the message cap closes the largest prefix that fits, before any model call", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        yield* memory.add(addRequest("s", batch(0, 10)))
        const found = yield* locateIds(memory, "s")
        expect(found.memcells.map((c) => c.message_ids.length)).toEqual([3, 3, 3])
        expect(found.buffered).toEqual(["m9"])
      }).pipe(Effect.provide(everyAddLayer({ llm: answering([]), env: { ENGRAM_MAX_CELL_MESSAGES: "4" } }))))

    it.effect("the token cap bounds every memcell and every prompt", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const fake = yield* FakeLlm
        const long = Array.from({ length: 6 }, (_, i) =>
          userMessage(i, "alice", BASE_TS + i * 1000, { message_id: `t${i}`, content: "word ".repeat(10).trim() }))
        yield* memory.add(addRequest("s", long))
        const found = yield* locateIds(memory, "s")
        // 10 tokens each, cap 25: at most 2 per cell.
        for (const cell of found.memcells) expect(cell.message_ids.length).toBeLessThanOrEqual(2)
        for (const call of yield* fake.calls) expect(promptLineCount(call.messages[1]!.content)).toBeLessThanOrEqual(2)
        expect(found.all.length).toBe(6)
      }).pipe(Effect.provide(everyAddLayer({ llm: answering([]), env: { ENGRAM_MAX_CELL_TOKENS: "25" } }))))

    it.effect("a change of calendar date closes the earlier day even when the model says merge", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const day = 86_400_000
        const monday = Date.UTC(2024, 4, 6, 20, 0)
        yield* memory.add(addRequest("s", [
          userMessage(0, "alice", monday, { message_id: "mon-1" }),
          userMessage(1, "alice", monday + 60_000, { message_id: "mon-2" }),
          userMessage(2, "alice", monday + day, { message_id: "tue-1" }),
          userMessage(3, "alice", monday + day + 60_000, { message_id: "tue-2" })
        ]))
        const found = yield* locateIds(memory, "s")
        expect(found.memcells.map((c) => c.message_ids)).toEqual([["mon-1", "mon-2"]])
        expect(found.buffered).toEqual(["tue-1", "tue-2"])
      }).pipe(Effect.provide(everyAddLayer({ llm: answering([]) }))))

    it.effect("calendar dates are those of the configured time zone", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        // 23:30 and 00:30 UTC are both the evening of the same day in New York.
        const lateUtc = Date.UTC(2024, 4, 6, 23, 30)
        yield* memory.add(addRequest("s", [
          userMessage(0, "alice", lateUtc, { message_id: "a" }),
          userMessage(1, "alice", lateUtc + 3_600_000, { message_id: "b" })
        ]))
        expect((yield* locateIds(memory, "s")).buffered).toEqual(["a", "b"])
      }).pipe(Effect.provide(everyAddLayer({ llm: answering([]), env: { ENGRAM_TIME_ZONE: "America/New_York" } }))))
  })

  describe("chat mode", () => {
    it.effect("assistant-only messages wait, whatever the model says; flush closes them", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const fake = yield* FakeLlm
        const assistant = batch(0, 3).map((m) => ({ ...m, role: "assistant" as const, sender_id: "bot" }))
        const result = yield* memory.add(addRequest("s", assistant))
        expect(result.status).toBe("accumulated")
        expect((yield* fake.calls).length).toBe(0)
        yield* memory.flush(keyOf("s"))
        expect((yield* locateIds(memory, "s")).buffered).toEqual([])
      }).pipe(Effect.provide(everyAddLayer({ llm: answering([1]) }))))

    it.effect("tool traffic is hidden from the detector and rides with the conversation around it", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const fake = yield* FakeLlm
        yield* memory.add(addRequest("s", [
          userMessage(0, "alice", BASE_TS, { message_id: "ask" }),
          {
            sender_id: "bot",
            role: "assistant",
            timestamp: BASE_TS + 1000,
            content: "",
            message_id: "call",
            tool_calls: [{ id: "c1", type: "function", function: { name: "weather", arguments: "{}" } }]
          },
          { sender_id: "weather", role: "tool", timestamp: BASE_TS + 2000, content: "sunny", tool_call_id: "c1", message_id: "result" },
          { sender_id: "bot", role: "assistant", timestamp: BASE_TS + 3000, content: "It is sunny.", message_id: "answer" },
          userMessage(4, "alice", BASE_TS + 4000, { message_id: "next-topic" })
        ]))
        const calls = yield* fake.calls
        expect(promptLineCount(calls[0]!.messages[1]!.content)).toBe(3)
        const found = yield* locateIds(memory, "s")
        expect(found.memcells.map((c) => c.message_ids)).toEqual([["ask", "call", "result", "answer"]])
        expect(found.memcells[0]!.sender_ids).toEqual(["alice", "bot", "weather"])
        expect(found.buffered).toEqual(["next-topic"])
      }).pipe(Effect.provide(everyAddLayer({ llm: answering([2]) }))))
  })

  describe("the session lock under TestClock", () => {
    const tenSecondModel: FakeLlmHandler = () => Effect.as(Effect.sleep("10 seconds"), boundaryAnswer([]))

    it.effect("three sessions run in parallel: all done after 10 s of test time", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const fiber = yield* Effect.fork(
          Effect.all(["a", "b", "c"].map((sid) => memory.add(addRequest(sid, batch(0, 2, "alice", sid)))), { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("9 seconds")
        expect(yield* Fiber.poll(fiber)).toMatchObject({ _tag: "None" })
        yield* TestClock.adjust("1 second")
        const done = yield* Fiber.join(fiber)
        expect(done.map((r) => r.message_count)).toEqual([2, 2, 2])
      }).pipe(Effect.provide(everyAddLayer({ llm: tenSecondModel }))))

    it.effect("three calls on one session take 30 s", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const fiber = yield* Effect.fork(
          Effect.all([0, 1, 2].map((b) => memory.add(addRequest("one", batch(b * 2, 2)))), { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("20 seconds")
        expect(yield* Fiber.poll(fiber)).toMatchObject({ _tag: "None" })
        yield* TestClock.adjust("9 seconds")
        expect(yield* Fiber.poll(fiber)).toMatchObject({ _tag: "None" })
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(fiber)
      }).pipe(Effect.provide(everyAddLayer({ llm: tenSecondModel }))))

    it.effect("the lock timeout fires at its configured time and leaves the messages buffered", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const first = yield* Effect.fork(memory.add(addRequest("s", batch(0, 2))))
        const second = yield* Effect.fork(memory.add(addRequest("s", batch(2, 2))))
        yield* TestClock.adjust("14 seconds")
        expect(yield* Fiber.poll(second)).toMatchObject({ _tag: "None" })
        yield* TestClock.adjust("1 second")
        const exits = [yield* Fiber.await(first), yield* Fiber.await(second)]
        for (const exit of exits) {
          expect(Exit.isFailure(exit)).toBe(true)
          if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain("SessionLockTimeout")
        }
        expect((yield* locateIds(memory, "s")).buffered).toEqual(["m0", "m1", "m2", "m3"])
      }).pipe(Effect.provide(everyAddLayer({
        llm: () => Effect.as(Effect.sleep("60 seconds"), boundaryAnswer([])),
        env: { ENGRAM_LOCK_TIMEOUT: "15 seconds" }
      }))))

    it.effect("time spent waiting for the permit is taken from the model call that follows", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const first = yield* Effect.fork(memory.add(addRequest("s", batch(0, 2))))
        const second = yield* Effect.fork(memory.add(addRequest("s", batch(2, 2))))
        // The first holds the session for its 10 s model call; the second waits those 10 s, and
        // its own 10 s call gets the 5 s left of the 15 s timeout.
        yield* TestClock.adjust("10 seconds")
        expect((yield* Fiber.join(first)).message_count).toBe(2)
        yield* TestClock.adjust("4 seconds")
        expect(yield* Fiber.poll(second)).toMatchObject({ _tag: "None" })
        // Past the 20 s where a fresh budget would have let it finish.
        yield* TestClock.adjust("10 seconds")
        const refused = yield* Effect.flip(Fiber.join(second))
        expect(refused._tag).toBe("SessionLockTimeout")
        expect((yield* locateIds(memory, "s")).buffered).toEqual(["m0", "m1", "m2", "m3"])
      }).pipe(Effect.provide(everyAddLayer({ llm: tenSecondModel, env: { ENGRAM_LOCK_TIMEOUT: "15 seconds" } }))))

    it.effect("lock entries disappear once sessions go quiet", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const lock = yield* SessionLock
        yield* Effect.forEach(Array.from({ length: 50 }, (_, i) => `s${i}`), (sid) => memory.add(addRequest(sid, batch(0, 1, "alice", sid))))
        yield* TestClock.adjust("1 minute")
        expect(yield* lock.activeKeys).toBe(0)
      }).pipe(Effect.provide(everyAddLayer({ llm: answering([]) }))))
  })

  describe("idle flush", () => {
    it.effect("a quiet session is flushed by the background fiber", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        yield* memory.add(addRequest("quiet", batch(0, 3)))
        yield* TestClock.adjust("30 seconds")
        expect((yield* locateIds(memory, "quiet")).buffered.length).toBe(3)
        yield* TestClock.adjust("2 minutes")
        const found = yield* locateIds(memory, "quiet")
        expect(found.buffered).toEqual([])
        expect(found.inCells.length).toBe(3)
      }).pipe(
        Effect.provide(
          IdleFlusherLive.pipe(
            Layer.provideMerge(everyAddLayer({
              llm: answering([]),
              env: { ENGRAM_IDLE_FLUSH_AFTER: "1 minute", ENGRAM_IDLE_FLUSH_INTERVAL: "10 seconds" }
            })),
            Layer.provide(configLayer({ ENGRAM_IDLE_FLUSH_AFTER: "1 minute", ENGRAM_IDLE_FLUSH_INTERVAL: "10 seconds" }))
          )
        )
      ))
  })
})

// A standalone check outside the shared layer: the lock timeout is a typed error in the signature.
it("SessionLockTimeout is part of Memory.add's error type", () => {
  type AddError = Effect.Effect.Error<ReturnType<Memory["add"]>>
  const tags: Array<AddError["_tag"]> = ["SessionLockTimeout", "MessageIdConflict", "LlmUnavailable"]
  expect(tags.length).toBe(3)
})
