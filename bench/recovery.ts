/**
 * Recovery after `kill -9`: fills the buffers of a real server process (`engram serve`) with
 * N messages (default 100,000, spread over sessions below the cell caps, with a fake model that
 * never cuts), kills it with SIGKILL while adds are still in flight, restarts it on the same data
 * directory, and reports the time until it serves again, the first reads, the first flush, and
 * that every acknowledged message survived. Loopback only; bounded by N.
 *
 * Run: npx tsx bench/recovery.ts [messages=100000] [sessions=1000]
 */
import { Duration, Effect, Fiber } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { FakeReply, makeFakeLlmServer } from "../test/support/FakeLlmServer.js"
import { call } from "../test/support/HttpCall.js"
import { purposeOf } from "../test/support/ScriptedModel.js"
import { startServerProcess } from "../test/support/ServerProcess.js"

const totalMessages = Number(process.argv[2] ?? 100_000)
const sessions = Number(process.argv[3] ?? 1000)
const perSession = Math.ceil(totalMessages / sessions)
const BATCH = 100
const TS = 1_700_000_000_000

const elapsedMs = (since: number) => Math.round(performance.now() - since)

const program = Effect.gen(function*() {
  // A model that never cuts: every message stays buffered (the worst case for recovery).
  const model = yield* makeFakeLlmServer({
    handler: (request) =>
      FakeReply.answer(
        purposeOf(request.body) === "boundary"
          ? JSON.stringify({ boundaries: [], should_wait: true })
          : JSON.stringify({ title: "t", content: "c", summary: "s", facts: [], items: [] })
      )
  })
  const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-recovery-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dataDir, { recursive: true, force: true })))
  const env = {
    ENGRAM_LLM_BASE_URL: model.baseUrl,
    ENGRAM_LLM_MODEL: "fake-model",
    ENGRAM_MAX_CELL_MESSAGES: String(Math.max(500, perSession + BATCH))
  }

  const emptyStart = performance.now()
  const first = yield* startServerProcess({ dataDir, env, startTimeout: "60 seconds" })
  const coldStartMs = elapsedMs(emptyStart)

  const batchOf = (session: number, b: number) => ({
    session_id: `recovery-${session}`,
    messages: Array.from({ length: Math.min(BATCH, perSession - b * BATCH) }, (_, i) => {
      const n = b * BATCH + i
      return {
        message_id: `s${session}-m${n}`,
        sender_id: n % 2 === 0 ? `user${session % 97}` : "assistant",
        role: n % 2 === 0 ? "user" : "assistant",
        timestamp: TS + n * 30_000,
        content: `Message ${n} of session ${session}: notes about the garden, the budget and the trip in May.`
      }
    })
  })

  // Fill: sessions in parallel (8 at a time), each session's batches in order.
  const fillStart = performance.now()
  let acknowledged = 0
  const batchesPerSession = Math.ceil(perSession / BATCH)
  yield* Effect.forEach(Array.from({ length: sessions }, (_, s) => s), (s) =>
    Effect.forEach(Array.from({ length: batchesPerSession }, (_, b) => b), (b) =>
      call(`${first.url}/api/v2/memory/add`, { json: batchOf(s, b), timeout: "60 seconds" }).pipe(
        Effect.orDie,
        Effect.tap((reply) =>
          Effect.sync(() => {
            if (reply.status !== 200) throw new Error(`add ${reply.status}: ${reply.text.slice(0, 300)}`)
            acknowledged += reply.body.data.message_count
          })
        )
      ), { discard: true }), { concurrency: 8, discard: true })
  const fillMs = elapsedMs(fillStart)
  const dbBytes = Fs.statSync(Path.join(dataDir, "engram.db")).size
  const walBytes = Fs.existsSync(Path.join(dataDir, "engram.db-wal")) ? Fs.statSync(Path.join(dataDir, "engram.db-wal")).size : 0

  // Kill -9 with adds in flight (to sessions that already hold their share).
  let inFlightAcknowledged = 0
  const inFlight = yield* Effect.fork(Effect.forEach(Array.from({ length: 16 }, (_, i) => i), (i) =>
    call(`${first.url}/api/v2/memory/add`, {
      json: {
        session_id: `recovery-extra-${i}`,
        messages: [{ message_id: `extra-${i}`, sender_id: "zed", role: "user", timestamp: TS, content: "in flight at the crash" }]
      },
      timeout: "10 seconds"
    }).pipe(Effect.tap((reply) => Effect.sync(() => reply.status === 200 && inFlightAcknowledged++)), Effect.ignore), {
    concurrency: 16,
    discard: true
  }))
  yield* Effect.sleep("20 millis")
  yield* first.stop("SIGKILL")
  yield* Fiber.join(inFlight)

  // Restart on the same directory.
  const restartAt = performance.now()
  const second = yield* startServerProcess({ dataDir, env, startTimeout: "120 seconds" })
  const listeningMs = elapsedMs(restartAt)
  const health = yield* call(`${second.url}/health`).pipe(Effect.orDie)
  const healthMs = elapsedMs(restartAt)
  const bufferedAtRestart = yield* call(`${second.url}/metrics`).pipe(
    Effect.orDie,
    Effect.map((reply) => Number(/^engram_buffered_messages (\S+)$/m.exec(reply.text)?.[1] ?? Number.NaN))
  )
  const firstRead = yield* call(`${second.url}/api/v2/memory/sessions/recovery-0`).pipe(Effect.orDie)
  const firstReadMs = elapsedMs(restartAt)
  const firstAdd = yield* call(`${second.url}/api/v2/memory/add`, {
    json: { session_id: "after-restart", messages: [{ sender_id: "a", role: "user", timestamp: TS, content: "hello again" }] }
  }).pipe(Effect.orDie)
  const firstAddMs = elapsedMs(restartAt)
  const flushStart = performance.now()
  const firstFlush = yield* call(`${second.url}/api/v2/memory/flush`, { json: { session_id: "recovery-0" }, timeout: "120 seconds" })
    .pipe(Effect.orDie)
  const firstFlushMs = elapsedMs(flushStart)
  const firstSession = firstRead.body.data.buffered.length as number
  console.log(JSON.stringify({
    messages: totalMessages,
    sessions,
    per_session: perSession,
    fill_s: Math.round(fillMs / 100) / 10,
    fill_messages_per_s: Math.round(totalMessages / (fillMs / 1000)),
    acknowledged,
    in_flight_acknowledged: inFlightAcknowledged,
    db_mib: Math.round(dbBytes / 1048576),
    wal_mib_at_crash: Math.round(walBytes / 1048576),
    cold_start_empty_dir_ms: coldStartMs,
    restart_to_listening_ms: listeningMs,
    restart_to_health_ms: healthMs,
    health_status: health.status,
    restart_to_first_session_read_ms: firstReadMs,
    first_session_buffered: firstSession,
    restart_to_first_add_ms: firstAddMs,
    first_add_status: firstAdd.status,
    first_flush_ms: firstFlushMs,
    first_flush: firstFlush.body?.data,
    buffered_at_restart: bufferedAtRestart,
    // Every 2xx'd message survived (in-flight adds without an answer may or may not have been stored).
    acknowledged_all_present: bufferedAtRestart >= acknowledged + inFlightAcknowledged
  }, null, 2))
  yield* second.stop("SIGTERM", Duration.seconds(30))
})

Effect.runPromise(Effect.scoped(program)).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
