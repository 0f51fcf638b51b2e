import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { call } from "../support/HttpCall.js"
import { ledgerViolations, readLedger } from "../support/LedgerAudit.js"
import { seededRandom } from "../support/SeededRandom.js"
import { startServerProcess } from "../support/ServerProcess.js"

/**
 * Two `engram serve` processes on one data directory, clients adding to the same sessions through
 * both at once (and flushing through both): every message ends in exactly one memcell, none is
 * lost, and the two processes' extraction workers run each job exactly once.
 */

const SEED = 7_777
const CLIENTS = 8
const BATCHES_PER_CLIENT = 25
const SESSIONS = ["both-0", "both-1"]
const TS = 1_700_000_000_000

// Not about embeddings: no model thread in each process.
const ENV = { ENGRAM_MAX_CELL_MESSAGES: "5", ENGRAM_EXTRACTION_POLL_INTERVAL: "100 millis", ENGRAM_EMBEDDER: "off" }

it.scopedLive("two servers on one database, concurrent adds on the same sessions through both: no loss, no duplicates", () =>
  Effect.gen(function*() {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-two-servers-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dataDir, { recursive: true, force: true })))
    const [a, b] = yield* Effect.all([startServerProcess({ dataDir, env: ENV }), startServerProcess({ dataDir, env: ENV })], {
      concurrency: 2
    })
    const servers = [a.url, b.url]
    const sent: Array<string> = []
    const failures: Array<string> = []

    const client = (index: number) =>
      Effect.gen(function*() {
        const random = seededRandom(SEED + index)
        for (let n = 0; n < BATCHES_PER_CLIENT; n++) {
          const url = servers[Math.floor(random() * 2)]!
          const session_id = SESSIONS[Math.floor(random() * SESSIONS.length)]!
          if (random() < 0.1) {
            const flushed = yield* call(`${url}/api/v2/memory/flush`, { json: { session_id } }).pipe(Effect.orDie)
            if (flushed.status !== 200) failures.push(`flush ${flushed.status} ${flushed.text.slice(0, 200)}`)
            continue
          }
          const messages = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => ({
            message_id: `c${index}-n${n}-${i}`,
            sender_id: i % 2 === 0 ? `user${index}` : "assistant",
            role: i % 2 === 0 ? "user" : "assistant",
            timestamp: TS + ((n * 4 + i) * CLIENTS + index) * 1000,
            content: `Client ${index} says ${n}.${i}: the shared ledger must hold every message exactly once.`
          }))
          const added = yield* call(`${url}/api/v2/memory/add`, { json: { session_id, messages } }).pipe(Effect.orDie)
          if (added.status === 200) sent.push(...messages.map((m) => m.message_id))
          else failures.push(`add ${added.status} ${added.text.slice(0, 200)}`)
        }
      })
    yield* Effect.all(Array.from({ length: CLIENTS }, (_, i) => client(i)), { concurrency: "unbounded", discard: true })
    expect(failures).toEqual([])

    // Final flushes through both servers, the last one waiting for extraction (either process may run a job).
    for (const session_id of SESSIONS) {
      yield* call(`${a.url}/api/v2/memory/flush`, { json: { session_id } }).pipe(Effect.orDie)
      const flushed = yield* call(`${b.url}/api/v2/memory/flush`, {
        json: { session_id, wait: true, wait_timeout_ms: 60_000 },
        timeout: "70 seconds"
      }).pipe(Effect.orDie)
      expect(flushed.body.data.extraction_complete).toBe(true)
    }
    // Both processes see the same state.
    for (const session_id of SESSIONS) {
      const [viewA, viewB] = yield* Effect.all([a.url, b.url].map((url) => call(`${url}/api/v2/memory/sessions/${session_id}`).pipe(Effect.orDie)))
      expect(viewA!.body.data).toEqual(viewB!.body.data)
    }
    expect(yield* a.stop("SIGTERM")).toBe(0)
    expect(yield* b.stop("SIGTERM")).toBe(0)

    const ledger = yield* readLedger(Path.join(dataDir, "engram.db"))
    expect(ledgerViolations(ledger, { extracted: true })).toEqual([])
    const stored = ledger.messages.map((m) => m.message_id)
    expect(stored.length).toBe(new Set(stored).size)
    expect([...sent].sort()).toEqual([...stored].sort())
    expect(ledger.messages.every((m) => m.memcell_id !== null)).toBe(true)
    expect(ledger.memcells.length).toBeGreaterThan(10)
  }), 120_000)
