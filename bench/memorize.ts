/**
 * Throughput of `Memory.add` with an instant fake model on a file database.
 * Run: npx tsx bench/memorize.ts [messages=50000] [sqlite|postgres]
 * (postgres: a throwaway local cluster, see test/support/PostgresCluster.ts; one database per scenario)
 * Prints messages/s for one session and for 100 sessions, batches of 10, and CPU ms per add.
 */
import { Effect, Layer, Redacted } from "effect"
import Pg from "pg"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { IncomingMessage } from "../src/Domain/Message.js"
import { Memory } from "../src/Memorize/Memory.js"
import * as Database from "../src/Storage/Database.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "../test/support/MemoryTestLayer.js"
import { addRequest } from "../test/support/Messages.js"
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

const scenario = (sessions: number) =>
  Effect.gen(function*() {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-bench-"))
    const database = yield* Effect.promise(() => databaseFor(dir, `bench_${sessions}`))
    const layer = memoryTestLayer({ llm: instantModel, database }).pipe(
      Layer.provide(textServices)
    )
    const result = yield* Effect.gen(function*() {
      const memory = yield* Memory
      const batches = total / BATCH
      const start = performance.now()
      const cpuBefore = process.cpuUsage()
      // One in-flight add per session, sessions concurrently: like independent agents.
      yield* Effect.forEach(
        Array.from({ length: sessions }, (_, s) => s),
        (s) =>
          Effect.forEach(Array.from({ length: batches / sessions }, (_, b) => b), (b) => {
            const messages: Array<IncomingMessage> = Array.from({ length: BATCH }, (_, i) => ({
              sender_id: i % 2 === 0 ? "alice" : "assistant",
              role: i % 2 === 0 ? "user" : "assistant",
              timestamp: 1_700_000_000_000 + (b * BATCH + i) * 1000,
              content: `${sentences[(b + i) % sentences.length]} (${s}/${b}/${i})`
            }))
            return memory.add(addRequest(`bench-${s}`, messages))
          }, { discard: true }),
        { concurrency: "unbounded", discard: true }
      )
      const seconds = (performance.now() - start) / 1000
      // CPU of this process per add (both threads of work: ours and SQLite's, which runs in it):
      // steadier than wall time when other work shares the machine.
      const cpu = process.cpuUsage(cpuBefore)
      const cpuMsPerAdd = Number(((cpu.user + cpu.system) / 1000 / batches).toFixed(2))
      return { engine, sessions, messages: total, seconds: Number(seconds.toFixed(2)), messagesPerSecond: Math.round(total / seconds), cpuMsPerAdd }
    }).pipe(Effect.provide(layer))
    Fs.rmSync(dir, { recursive: true, force: true })
    return result
  })

const program = Effect.gen(function*() {
  for (const sessions of [1, 100]) {
    const result = yield* scenario(sessions)
    console.log(JSON.stringify(result))
  }
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exitCode = 1
}).finally(() => cluster?.stop())
