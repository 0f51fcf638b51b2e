import { describe, expect, layer } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, Redacted } from "effect"
import type { ChatRequest } from "../../src/Llm/LlmClient.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { SessionLease } from "../../src/Memorize/SessionLease.js"
import * as Database from "../../src/Storage/Database.js"
import { postgresEngine } from "../support/Engines.js"
import { FakeLlm, type FakeLlmHandler } from "../support/FakeLlm.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "../support/MemoryTestLayer.js"
import { addRequest, BASE_TS, locateIds, userMessage } from "../support/Messages.js"
import { seededRandom } from "../support/SeededRandom.js"

/**
 * Several nodes (separate `makeEngram` layers: own pools, own in-process locks) on one Postgres
 * database. The session lease must keep them from asking the boundary model about the same
 * buffered state twice; the compare-and-set commit must keep every message in exactly one place
 * even when a lease expires under a stalled holder.
 */

const engine = postgresEngine()

/** The selective strategy asking about every new message: each add with new turns is a boundary call. */
const ASK_ALWAYS = { ENGRAM_BOUNDARY_ASK_TOKENS: "1" }

/** Numbered transcript lines of a boundary prompt. */
const transcriptLength = (request: ChatRequest) =>
  (request.messages[1]?.content ?? "").split("\n").filter((line) => /^\[\d+\]/.test(line)).length

/** Like a real model it takes a moment, so concurrent nodes all read the buffer before anyone commits. */
const cutBeforeLast: FakeLlmHandler = (request) => {
  const n = transcriptLength(request)
  return Effect.as(Effect.sleep("5 millis"), boundaryAnswer(n >= 3 ? [n - 1] : []))
}

/** One node on the database at `url`: the application as the composition root builds it. */
const node = (url: string, llm: FakeLlmHandler, options: { env?: Record<string, string>; lock?: Parameters<typeof memoryTestLayer>[0]["lock"] } = {}) =>
  Effect.map(
    Layer.build(memoryTestLayer({
      llm,
      database: Database.layerPostgres(Redacted.make(url)),
      env: { ...ASK_ALWAYS, ...options.env },
      ...(options.lock === undefined ? {} : { lock: options.lock })
    })),
    (context) => ({ memory: Context.get(context, Memory), llm: Context.get(context, FakeLlm) })
  )

const freshUrl = Effect.map(engine.freshEnv("/nonexistent"), (env) => env["ENGRAM_DATABASE_URL"]!)

/** Every boundary prompt asked more than once, across all nodes (the prompt is the buffered state the model sees). */
const repeatedBoundaryPrompts = (nodes: ReadonlyArray<{ llm: FakeLlm }>) =>
  Effect.gen(function*() {
    const prompts = (yield* Effect.forEach(nodes, (n) => n.llm.calls)).flat()
      .filter((request) => request.purpose === "boundary")
      .map((request) => request.messages[1]!.content)
    const counts = new Map<string, number>()
    for (const prompt of prompts) counts.set(prompt, (counts.get(prompt) ?? 0) + 1)
    return { calls: prompts.length, repeated: [...counts.entries()].filter(([, count]) => count > 1) }
  })

const expectExactlyOnce = (found: ReadonlyArray<string>, expected: ReadonlyArray<string>) => {
  expect(found.length).toBe(new Set(found).size)
  expect([...found].sort()).toEqual([...expected].sort())
}

describe.skipIf(engine.skipped !== undefined)(`postgres${engine.skipped === undefined ? "" : ` (skipped: ${engine.skipped})`}`, () => {
  layer(textServices, { excludeTestServices: true })("session lease across nodes", (it) => {
    it.scoped("three nodes adding to shared sessions: every id once, one boundary call per buffered state", () =>
      Effect.gen(function*() {
        const url = yield* freshUrl
        const nodes = yield* Effect.all([0, 1, 2].map(() => node(url, cutBeforeLast)))
        const sessions = ["shared-0", "shared-1"]
        const sent = new Map<string, Array<string>>(sessions.map((s) => [s, []]))
        const client = (index: number) =>
          Effect.gen(function*() {
            const random = seededRandom(4_242 + index)
            for (let n = 0; n < 8; n++) {
              const session = sessions[Math.floor(random() * sessions.length)]!
              const batch = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) =>
                userMessage(n * 10 + i, `user${index}`, BASE_TS + ((n * 4 + i) * 9 + index) * 1000, {
                  message_id: `c${index}-n${n}-${i}`,
                  content: `client ${index} batch ${n} line ${i}: the shared ledger keeps every message once`
                }))
              sent.get(session)!.push(...batch.map((m) => m.message_id!))
              // Every client talks to every node in turn, so each session is shared by all three.
              yield* nodes[(index + n) % nodes.length]!.memory.add(addRequest(session, batch))
            }
          })
        yield* Effect.all(Array.from({ length: 9 }, (_, i) => client(i)), { concurrency: "unbounded", discard: true })

        const { calls, repeated } = yield* repeatedBoundaryPrompts(nodes)
        expect(calls).toBeGreaterThan(20)
        expect(repeated).toEqual([])
        for (const session of sessions) {
          expectExactlyOnce((yield* locateIds(nodes[0]!.memory, session)).all, sent.get(session)!)
          yield* nodes[1]!.memory.flush(addRequest(session, []))
          const after = yield* locateIds(nodes[2]!.memory, session)
          expect(after.buffered).toEqual([])
          expectExactlyOnce(after.inCells, sent.get(session)!)
        }
      }), 120_000)

    it.scoped("a node waiting for another node's lease gives up after ENGRAM_LOCK_TIMEOUT; its messages stay buffered", () =>
      Effect.gen(function*() {
        const url = yield* freshUrl
        const asked = yield* Deferred.make<void>()
        const answer = yield* Deferred.make<void>()
        let boundaryCalls = 0
        // The first boundary call (node A's) answers only when the test says so.
        const held: FakeLlmHandler = (request) =>
          boundaryCalls++ === 0
            ? Effect.zipRight(Deferred.succeed(asked, undefined), Effect.as(Deferred.await(answer), boundaryAnswer([])))
            : cutBeforeLast(request, 0)
        const a = yield* node(url, held)
        const b = yield* node(url, held, { env: { ENGRAM_LOCK_TIMEOUT: "300 millis" } })
        const first = [0, 1].map((i) => userMessage(i, "alice", BASE_TS + i * 1000, { message_id: `a-${i}` }))
        const second = [userMessage(2, "bob", BASE_TS + 2000, { message_id: "b-0" })]

        const addA = yield* Effect.fork(a.memory.add(addRequest("held", first)))
        yield* Deferred.await(asked)
        // A holds the session (renewing its lease) while its model call is pending: B may not ask.
        const refused = yield* Effect.flip(b.memory.add(addRequest("held", second)))
        expect(refused._tag).toBe("SessionLockTimeout")
        expect(boundaryCalls).toBe(1)

        yield* Deferred.succeed(answer, undefined)
        yield* Fiber.join(addA)
        // B's message was stored before it waited: the next add or flush cuts it.
        yield* b.memory.flush(addRequest("held", []))
        const found = yield* locateIds(a.memory, "held")
        expect(found.buffered).toEqual([])
        expectExactlyOnce(found.inCells, ["a-0", "a-1", "b-0"])
      }), 60_000)

    it.scoped("a holder that stops renewing lets another node in once its lease expires; the commit's compare-and-set fences it", () =>
      Effect.gen(function*() {
        const url = yield* freshUrl
        const asked = yield* Deferred.make<void>()
        const answer = yield* Deferred.make<void>()
        let boundaryCalls = 0
        // Node A's call stalls until released, then cuts after the first message; later calls cut before the last.
        const stalled: FakeLlmHandler = (request) =>
          boundaryCalls++ === 0
            ? Effect.zipRight(Deferred.succeed(asked, undefined), Effect.as(Deferred.await(answer), boundaryAnswer([1])))
            : cutBeforeLast(request, 0)
        // A's lease lasts 300 ms and is never renewed: a holder frozen mid-call.
        const a = yield* node(url, stalled, {
          lock: SessionLease.layer({ timeout: "60 seconds", ttl: "300 millis", renewEvery: "1 hour" })
        })
        const b = yield* node(url, stalled, { env: { ENGRAM_LOCK_TIMEOUT: "60 seconds" } })
        const earlier = [0, 1].map((i) => userMessage(i, "alice", BASE_TS + i * 1000, { message_id: `a-${i}` }))
        const third = [userMessage(2, "alice", BASE_TS + 2000, { message_id: "a-2" })]
        const second = [userMessage(3, "bob", BASE_TS + 3000, { message_id: "b-0" })]

        // a-0 and a-1 are in the ledger already (a deferred add asks no model).
        yield* a.memory.add({ ...addRequest("stalled", earlier), defer_extraction: true })
        const addA = yield* Effect.fork(a.memory.add(addRequest("stalled", third)))
        yield* Deferred.await(asked)
        // B gets in while A's model call is still pending: only the expiry of A's lease lets it
        // (B waits up to 60 s; A's call never ends by itself). B's buffer is a-0, a-1, b-0 (A's a-2
        // is stored with A's commit): the model cuts before the last, B commits a-0 and a-1.
        const added = yield* b.memory.add(addRequest("stalled", second))
        expect(boundaryCalls).toBe(2)
        expect(added.memcell_ids).toHaveLength(1)
        expect((yield* locateIds(b.memory, "stalled")).memcells.map((c) => c.message_ids)).toEqual([["a-0", "a-1"]])

        // A's answer arrives: its plan (a memcell of a-0, read before B's commit) loses the
        // compare-and-set; A stores a-2, asks about the buffer as it now is (a-2, b-0: no cut) and
        // commits nothing.
        yield* Deferred.succeed(answer, undefined)
        const late = yield* Fiber.join(addA)
        expect(late.memcell_ids).toEqual([])
        expect(boundaryCalls).toBe(3)
        const found = yield* locateIds(a.memory, "stalled")
        expectExactlyOnce(found.all, ["a-0", "a-1", "a-2", "b-0"])
        expect(found.memcells.map((c) => c.message_ids)).toEqual([["a-0", "a-1"]])
        expect(found.buffered).toEqual(["a-2", "b-0"])
      }), 60_000)
  })
})
