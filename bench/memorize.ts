/**
 * Throughput of `Memory.add` with an instant fake model on a file database.
 * Run: npx tsx bench/memorize.ts [messages=50000] [sqlite|postgres]
 * (postgres: a throwaway local cluster, see test/support/PostgresCluster.ts; one database per scenario)
 * Prints messages/s for one session and for 100 sessions, batches of 10, and CPU ms per add; then
 * two storage floors for 100 sessions: the very writes those adds make (messages, memcell, jobs,
 * seen mark, through the real repos and group commit) with nothing else, so no add can beat that
 * line; and the ledger write of a one-message add (what each request of bench/http.ts stores).
 */
import { Effect, Layer, Redacted } from "effect"
import Pg from "pg"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { IncomingMessage, SessionKey } from "../src/Domain/Message.js"
import { EXTRACTION_KINDS } from "../src/Domain/Job.js"
import { LedgerRepo, type PreparedMessage } from "../src/Ledger/LedgerRepo.js"
import { derivedMessageId, memcellIdOf, messageFingerprint } from "../src/Ledger/MessageIdentity.js"
import { MemcellRepo } from "../src/Memorize/MemcellRepo.js"
import { Memory } from "../src/Memorize/Memory.js"
import { GroupCommit } from "../src/Storage/GroupCommit.js"
import * as Database from "../src/Storage/Database.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "../test/support/MemoryTestLayer.js"
import { addRequest, keyOf } from "../test/support/Messages.js"
import { startFoundCluster } from "../test/support/PostgresCluster.js"

const total = Number(process.argv[2] ?? 50_000)
const BATCH = 10
const engine = process.argv[3] === "postgres" ? "postgres" : "sqlite"

const cluster = engine === "postgres" ? await startFoundCluster() : undefined

/** The scenario's database: a file in `dir`, or a new database on the cluster. */
const databaseFor = async (dir: string, name: string) => {
  if (cluster === undefined) return Database.layerFile(Path.join(dir, "engram.db"))
  const admin = new Pg.Client({ connectionString: cluster.url })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(cluster.url)
  url.pathname = `/${name}`
  return Database.layerPostgres(Redacted.make(url.toString()))
}

const sentences = [
  "I booked the flight to Lisbon for the conference next month.",
  "Can you remind me which hotel we picked near the venue?",
  "The replication lag on the replica went up again after the deploy.",
  "Let's try lowering the checkpoint timeout and watch the graphs.",
  "My sister recommended a bakery that does great pastel de nata."
]

/** The model always closes everything but the last message, so the buffer stays small, as in steady use. */
const instantModel = (request: { messages: ReadonlyArray<{ content: string }> }) => {
  const n = request.messages[1]!.content.split("\n").filter((l) => /^\[\d+\]/.test(l)).length
  return boundaryAnswer([n - 1])
}

type Scenario = "add" | "writes only" | "one-message ledger writes"

/** The b-th batch of session s: what the scenarios send. */
const batchOf = (s: number, b: number, size = BATCH): Array<IncomingMessage> =>
  Array.from({ length: size }, (_, i) => ({
    sender_id: i % 2 === 0 ? "alice" : "assistant",
    role: i % 2 === 0 ? "user" : "assistant",
    timestamp: 1_700_000_000_000 + (b * size + i) * 1000,
    content: `${sentences[(b + i) % sentences.length]} (${s}/${b}/${i})`
  }))

/** Ids and fingerprints as `Memory.add` derives them for messages sent without an id; token counts a constant. */
const preparedOf = (key: SessionKey, messages: ReadonlyArray<IncomingMessage>) =>
  messages.map((message): PreparedMessage => {
    const fingerprint = messageFingerprint(key, message)
    return { message_id: derivedMessageId(fingerprint), fingerprint, token_count: 20, message }
  })

/** One add through `Memory.add`: prepare, lock, buffer read, boundary call, one durable write. */
const viaMemory = Effect.map(Memory, (memory) => (s: number, b: number): Effect.Effect<void, unknown> => Effect.asVoid(memory.add(addRequest(`bench-${s}`, batchOf(s, b)))))

/**
 * Only the durable write an add of `viaMemory` makes: its messages stored, the memcell the model
 * cuts (the previous batch's last message and this batch's first nine) with its jobs, the last
 * message marked seen; one group-commit write per batch.
 */
const writesOnly = Effect.gen(function*() {
  const ledger = yield* LedgerRepo
  const memcells = yield* MemcellRepo
  const groupCommit = yield* GroupCommit
  // Each session's message left buffered by its previous batch: the first of the next memcell.
  const leftBuffered = new Map<number, ReadonlyArray<string>>()
  return (s: number, b: number) =>
    Effect.suspend(() => {
      const key = keyOf(`bench-${s}`)
      const prepared = preparedOf(key, batchOf(s, b))
      const last = prepared[BATCH - 1]!
      const cellIds = [...(leftBuffered.get(s) ?? []), ...prepared.slice(0, -1).map((p) => p.message_id)]
      leftBuffered.set(s, [last.message_id])
      const cell = { memcell_id: memcellIdOf(key, cellIds), message_ids: cellIds, sender_ids: ["alice", "assistant"], timestamp: prepared[BATCH - 2]!.message.timestamp }
      const now = Date.now()
      return groupCommit.run("bench writes", Effect.zipRight(
        ledger.storeBatch(key, prepared, now),
        memcells.commitStatements(key, [cell], { jobKinds: EXTRACTION_KINDS, seen: [{ message_id: last.message_id, mark: "seen" }] }, now)
      ))
    })
})

/** One message per add, stored in the ledger through group commit (as `Memory.add` does before any cut). */
const ledgerWrites = Effect.map(LedgerRepo, (ledger) => (s: number, b: number) =>
  Effect.suspend(() => {
    const key = keyOf(`bench-${s}`)
    return ledger.ingest(key, preparedOf(key, batchOf(s, b, 1)))
  }))

const scenario = (sessions: number, kind: Scenario) =>
  Effect.gen(function*() {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-bench-"))
    const database = yield* Effect.promise(() => databaseFor(dir, `bench_${sessions}_${kind.replaceAll(/[^a-z]/g, "_")}`))
    const layer = memoryTestLayer({ llm: instantModel, database }).pipe(
      Layer.provide(textServices)
    )
    const result = yield* Effect.gen(function*() {
      const addBatch = yield* (kind === "add" ? viaMemory : kind === "writes only" ? writesOnly : ledgerWrites)
      const batches = total / (kind === "one-message ledger writes" ? 1 : BATCH)
      const start = performance.now()
      const cpuBefore = process.cpuUsage()
      // One in-flight add per session, sessions concurrently: like independent agents.
      yield* Effect.forEach(
        Array.from({ length: sessions }, (_, s) => s),
        (s) =>
          Effect.forEach(Array.from({ length: batches / sessions }, (_, b) => b), (b) => addBatch(s, b), { discard: true }),
        { concurrency: "unbounded", discard: true }
      )
      const seconds = (performance.now() - start) / 1000
      // CPU of this process per add (both threads of work: ours and SQLite's, which runs in it):
      // steadier than wall time when other work shares the machine.
      const cpu = process.cpuUsage(cpuBefore)
      const cpuMsPerAdd = Number(((cpu.user + cpu.system) / 1000 / batches).toFixed(2))
      return { engine, scenario: kind, sessions, messages: total, seconds: Number(seconds.toFixed(2)), messagesPerSecond: Math.round(total / seconds), cpuMsPerAdd }
    }).pipe(Effect.provide(layer))
    Fs.rmSync(dir, { recursive: true, force: true })
    return result
  })

const program = Effect.gen(function*() {
  const scenarios: ReadonlyArray<readonly [number, Scenario]> = [[1, "add"], [100, "add"], [100, "writes only"], [100, "one-message ledger writes"]]
  for (const [sessions, kind] of scenarios) {
    console.log(JSON.stringify(yield* scenario(sessions, kind)))
  }
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exitCode = 1
}).finally(() => cluster?.stop())
