import { expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { call } from "../support/HttpCall.js"
import { acknowledgementViolations, ledgerViolations, readLedger } from "../support/LedgerAudit.js"
import { seededRandom } from "../support/SeededRandom.js"
import { startServerProcess } from "../support/ServerProcess.js"

/**
 * The real server is `kill -9`ed at seeded random moments while clients stream adds (explicit
 * ids, two clients per session, some flushes) and restarted on the same data directory. Whatever
 * got a 2xx must survive; every batch is all-or-nothing; every id ends in exactly one memcell;
 * extraction completes exactly once per memcell; the file passes `PRAGMA integrity_check`.
 */

const SEED = 20_261_124
const ROUNDS = 20
const CLIENTS = 6
const SESSIONS = ["crash-0", "crash-1", "crash-2"]
const BASE_TS = 1_700_000_000_000

const ENV = {
  // Small cells, so memcells (and their extraction jobs) are committed all the time.
  ENGRAM_MAX_CELL_MESSAGES: "6",
  // A job claimed by a killed process is claimable again soon after.
  ENGRAM_EXTRACTION_LEASE: "2 seconds",
  ENGRAM_EXTRACTION_POLL_INTERVAL: "200 millis",
  ENGRAM_EXTRACTION_BACKOFF_BASE: "100 millis",
  // Not about embeddings: no model thread in each of the many restarted processes.
  ENGRAM_EMBEDDER: "off"
}

interface Attempt {
  readonly session_id: string
  readonly ids: ReadonlyArray<string>
  /** accepted: 2xx; unknown: the connection broke (the server died) before an answer. */
  outcome: "pending" | "accepted" | "refused" | "unknown"
}

/** Adds a round sees accepted before its kill is scheduled, so every round really works. */
const ACCEPTED_BEFORE_KILL = 5

const TOPICS = ["the garden beds for spring", "the new espresso machine", "the dentist appointment", "the team offsite in May"]

it.scopedLive("kill -9 at random moments, 20 restarts: no accepted message lost, none duplicated, extraction once per memcell", () =>
  Effect.gen(function*() {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-crash-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dataDir, { recursive: true, force: true })))
    const attempts: Array<Attempt> = []
    const schedule = seededRandom(SEED)
    let transportErrors = 0

    const client = (url: string, round: number, index: number, running: () => boolean) =>
      Effect.gen(function*() {
        const random = seededRandom(SEED + round * 100 + index)
        for (let n = 0; running(); n++) {
          const session_id = random() < 0.85 ? SESSIONS[index % SESSIONS.length]! : SESSIONS[Math.floor(random() * SESSIONS.length)]!
          if (random() < 0.1) {
            yield* Effect.ignore(call(`${url}/api/v2/memory/flush`, { json: { session_id }, timeout: "10 seconds" }))
            continue
          }
          const size = 1 + Math.floor(random() * 4)
          const messages = Array.from({ length: size }, (_, i) => {
            const user = i % 2 === 0
            return {
              message_id: `r${round}-c${index}-n${n}-${i}`,
              sender_id: user ? `user${index}` : "assistant",
              role: user ? "user" : "assistant",
              timestamp: BASE_TS + ((round * 10_000 + n * 10 + i) * CLIENTS + index) * 1000,
              content: `${user ? "I keep thinking about" : "Tell me more about"} ${TOPICS[(n + index) % TOPICS.length]} (${round}/${n}/${i})`
            }
          })
          const attempt: Attempt = { session_id, ids: messages.map((m) => m.message_id), outcome: "pending" }
          attempts.push(attempt)
          const reply = yield* Effect.either(call(`${url}/api/v2/memory/add`, { json: { session_id, messages }, timeout: "10 seconds" }))
          if (reply._tag === "Left") {
            attempt.outcome = "unknown"
            transportErrors++
          } else {
            attempt.outcome = reply.right.status >= 200 && reply.right.status < 300 ? "accepted" : "refused"
          }
        }
      })

    for (let round = 0; round < ROUNDS; round++) {
      yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* startServerProcess({ dataDir, env: ENV })
        let running = true
        const clients = yield* Effect.forEach(
          Array.from({ length: CLIENTS }, (_, i) => i),
          (i) => Effect.fork(client(server.url, round, i, () => running))
        )
        // The kill comes at a random moment once traffic flows: counted from the round's first
        // accepted adds, not from start-up, which a loaded machine stretches to seconds.
        const acceptedThisRound = () => attempts.filter((a) => a.outcome === "accepted" && a.ids[0]!.startsWith(`r${round}-`)).length
        yield* Effect.sleep("20 millis").pipe(
          Effect.repeat({ until: () => acceptedThisRound() >= ACCEPTED_BEFORE_KILL }),
          Effect.timeout("120 seconds"), // a hang guard only
          Effect.ignore
        )
        yield* Effect.sleep(Duration.millis(50 + Math.floor(schedule() * 550)))
        yield* server.stop("SIGKILL")
        running = false
        // Requests in flight fail at once (connection reset); the bound only guards the test.
        yield* Fiber.joinAll(clients).pipe(Effect.timeout("20 seconds"))
      }))
    }

    // A last start: flush every session and wait for its extraction, then stop cleanly.
    yield* Effect.scoped(Effect.gen(function*() {
      const server = yield* startServerProcess({ dataDir, env: ENV })
      for (const session_id of SESSIONS) {
        const flushed = yield* call(`${server.url}/api/v2/memory/flush`, {
          json: { session_id, wait: true, wait_timeout_ms: 60_000 },
          timeout: "70 seconds"
        })
        expect(flushed.status).toBe(200)
        expect(flushed.body.data.extraction_complete).toBe(true)
      }
      const present = new Map<string, number>()
      for (const session_id of SESSIONS) {
        const session = yield* call(`${server.url}/api/v2/memory/sessions/${session_id}`)
        expect(session.body.data.buffered).toEqual([])
        for (const cell of session.body.data.memcells as ReadonlyArray<{ message_ids: ReadonlyArray<string> }>) {
          for (const id of cell.message_ids) present.set(id, (present.get(id) ?? 0) + 1)
        }
      }
      const dead = yield* call(`${server.url}/api/v2/jobs`)
      expect(dead.body.data.jobs).toEqual([])
      expect(yield* server.stop("SIGTERM")).toBe(0)

      // Every id is in exactly one place; whatever got a 2xx is there; batches are all-or-nothing.
      expect(acknowledgementViolations(present, attempts)).toEqual([])
      // The run really was interrupted mid-traffic, and really did work.
      expect(transportErrors).toBeGreaterThan(0)
      expect(attempts.filter((a) => a.outcome === "accepted").length).toBeGreaterThan(100)
    }))

    const ledger = yield* readLedger(Path.join(dataDir, "engram.db"))
    expect(ledger.integrity).toEqual(["ok"])
    expect(ledgerViolations(ledger, { extracted: true })).toEqual([])
    expect(ledger.messages.every((m) => m.memcell_id !== null)).toBe(true)
    expect(ledger.memcells.length).toBeGreaterThan(20)
  }), 900_000) // a hang guard: 20 restarts took over 240 s at load average 17
