/**
 * The heaviest legal add does not freeze the server: while it is processed, /health answers on
 * another connection, /metrics reports the event-loop delay, and SIGTERM stops the process within
 * ENGRAM_SHUTDOWN_TIMEOUT. Bounds are relative to the same run (the add's own duration), so a
 * loaded machine slows both sides alike. Before the fix this add held the CPU for minutes,
 * /health never answered and SIGTERM was ignored.
 */
import { expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { call } from "../support/HttpCall.js"
import { seededRandom } from "../support/SeededRandom.js"
import { startServerProcess } from "../support/ServerProcess.js"

/** Two million characters without whitespace, none repeating the run before: no memo helps. */
const worstContent = (seed: number) => {
  const next = seededRandom(seed)
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
  const chars = new Array<string>(2_000_000)
  for (let i = 0; i < chars.length; i++) chars[i] = alphabet[Math.floor(next() * alphabet.length)]!
  return chars.join("")
}

const worstAdd = (url: string, session: string, seed: number) =>
  call(`${url}/api/v2/memory/add`, {
    json: { session_id: session, messages: [{ sender_id: "alice", role: "user", timestamp: 1_715_018_400_000, content: worstContent(seed) }] },
    timeout: Duration.minutes(10)
  })

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const started = performance.now()
    const result = yield* effect
    return { result, ms: performance.now() - started }
  })

const SHUTDOWN_TIMEOUT_SECONDS = 3

it.live("/health answers while a 2,000,000-character add runs, and /metrics shows the event-loop delay", () =>
  Effect.gen(function*() {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-event-loop-"))
    const server = yield* startServerProcess({ dataDir, startTimeout: Duration.minutes(2) })
    const health = timed(call(`${server.url}/health`, { timeout: Duration.minutes(10) }))
    yield* health // warm up

    const add = yield* Effect.fork(timed(worstAdd(server.url, "worst", 1)))
    const healthLatencies: Array<number> = []
    while (add.unsafePoll() === null) {
      const { ms, result } = yield* health
      expect(result.status).toBe(200)
      healthLatencies.push(ms)
      yield* Effect.sleep("20 millis")
    }
    const added = yield* Fiber.join(add)
    expect(added.result.status).toBe(200)
    expect(added.result.body.data.message_count).toBe(1)

    // Blocked, every /health would wait for most of the add; responsive, each waits a slice.
    expect(healthLatencies.length).toBeGreaterThanOrEqual(3)
    expect(Math.max(...healthLatencies)).toBeLessThan(added.ms / 3)

    const metrics = yield* call(`${server.url}/metrics`)
    const delays = metrics.text.match(/^engram_event_loop_delay_seconds\{stat="(max|p50|p99)"\} [0-9.e+-]+$/gm) ?? []
    expect(delays).toHaveLength(3)
    Fs.rmSync(dataDir, { recursive: true, force: true })
  }).pipe(Effect.scoped), 600_000)

it.live("SIGTERM stops the server within ENGRAM_SHUTDOWN_TIMEOUT while the heaviest add is in flight", () =>
  Effect.gen(function*() {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-sigterm-"))
    // Starting the process (transpile, open, migrate) measures how slow this machine is right now.
    const started = yield* timed(startServerProcess({
      dataDir,
      env: { ENGRAM_SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_SECONDS} seconds` },
      startTimeout: Duration.minutes(2)
    }))
    const server = started.result
    const inFlight = yield* Effect.fork(worstAdd(server.url, "in-flight", 3).pipe(Effect.either))
    // Let the server get into the add (its body is read and being processed) before the signal.
    for (let answered = 0; answered < 3; answered++) yield* call(`${server.url}/health`, { timeout: Duration.minutes(10) })
    expect(inFlight.unsafePoll()).toBeNull()
    const signalled = performance.now()
    const code = yield* server.stop("SIGTERM", Duration.millis(SHUTDOWN_TIMEOUT_SECONDS * 1000 + 2 * started.ms))
    const stoppedMs = performance.now() - signalled
    expect(code).toBe(0)
    // The shutdown timeout plus teardown, which costs less than the start did.
    expect(stoppedMs).toBeLessThan(SHUTDOWN_TIMEOUT_SECONDS * 1000 + started.ms)
    yield* Fiber.join(inFlight)
    Fs.rmSync(dataDir, { recursive: true, force: true })
  }).pipe(Effect.scoped), 600_000)
