/**
 * Add latency and throughput over HTTP (loopback only, bounded).
 * Run: npx tsx bench/http.ts [seconds=10] [offline|instant] [sqlite|postgres] [nodes=1]
 * offline (default): the server as `engram serve` runs without an LLM (local boundary detector and
 * extractors, extraction workers running); instant: a fake model that cuts on every add.
 * postgres: a throwaway local cluster (test/support/PostgresCluster.ts), one new database; with
 * nodes > 1 that many server processes share it and the client spreads its connections over them
 * round-robin (one autocannon per node, connections / nodes each, run together).
 * Each server runs in a child process so the load generator does not share its event loop.
 */
import autocannon from "autocannon"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import Pg from "pg"
import { startFoundCluster } from "../test/support/PostgresCluster.js"

const seconds = Number(process.argv[2] ?? 10)
const mode = process.argv[3] ?? "offline"
const engine = process.argv[4] === "postgres" ? "postgres" : "sqlite"
const nodes = Math.max(1, Number(process.argv[5] ?? 1))
if (engine === "sqlite" && nodes > 1) throw new Error("several nodes need postgres")
const firstPort = 18_000 + Math.floor(Math.random() * 1000)
const ports = Array.from({ length: nodes }, (_, i) => firstPort + i)
const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-http-bench-"))

const cluster = engine === "postgres" ? await startFoundCluster() : undefined

const databaseUrl = cluster === undefined ? undefined : await (async () => {
  const admin = new Pg.Client({ connectionString: cluster.url })
  await admin.connect()
  await admin.query("CREATE DATABASE bench_http")
  await admin.end()
  const url = new URL(cluster.url)
  url.pathname = "/bench_http"
  return url.toString()
})()

const startServer = (port: number): Promise<ChildProcess> => {
  const server = spawn(process.execPath, ["--import", "tsx", Path.join(import.meta.dirname, "httpServer.ts"), String(port), dataDir, mode], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...(databaseUrl === undefined ? {} : { ENGRAM_DATABASE_URL: databaseUrl }) }
  })
  return new Promise((resolve) => server.stdout!.on("data", (chunk) => String(chunk).includes("ready") && resolve(server)))
}
// One at a time: the first migrates the database, the others find it migrated.
const servers: Array<ChildProcess> = []
for (const port of ports) servers.push(await startServer(port))

/**
 * CPU time (user + system, all threads) a server process has used so far, from /proc (Linux);
 * undefined elsewhere. CPU per add moves less than wall time when other work shares the machine.
 */
const serverCpuMs = (server: ChildProcess): number | undefined => {
  try {
    // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100/s).
    const fields = Fs.readFileSync(`/proc/${server.pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

let counter = 0
/** Each request adds one new message to one of 100 sessions (distinct ids, so none is a retry). */
const nextBody = () => {
  const n = counter++
  return JSON.stringify({
    session_id: `bench-${n % 100}`,
    messages: [{
      message_id: `msg-${n}`,
      sender_id: n % 2 === 0 ? "alice" : "bob",
      role: "user",
      timestamp: 1_700_000_000_000 + n * 1000,
      content: `Message ${n}: we talked about the release checklist and the flaky integration test again.`
    }]
  })
}

const runOn = (port: number, connections: number) =>
  autocannon({
    url: `http://127.0.0.1:${port}/api/v2/memory/add`,
    method: "POST",
    headers: { "content-type": "application/json" },
    connections,
    duration: seconds,
    requests: [{ setupRequest: (request) => ({ ...request, body: nextBody() }) }]
  })

const results = []
for (const connections of [1, 32]) {
  // Round-robin: connection i goes to node i mod nodes.
  const perNode = ports.map((_, i) => Math.floor(connections / nodes) + (i < connections % nodes ? 1 : 0))
  const cpuBefore = servers.map(serverCpuMs)
  const runs = await Promise.all(ports.flatMap((port, i) => perNode[i]! > 0 ? [runOn(port, perNode[i]!)] : []))
  const requests = runs.reduce((sum, r) => sum + r.requests.total, 0)
  const cpuUsed = servers.map((server, i) => {
    const after = serverCpuMs(server)
    const before = cpuBefore[i]
    return after === undefined || before === undefined ? undefined : after - before
  })
  results.push({
    connections,
    requests,
    adds_per_second: Math.round(runs.reduce((sum, r) => sum + r.requests.average, 0)),
    // Per node when several: the slowest node's percentiles.
    p50_ms: Math.max(...runs.map((r) => r.latency.p50)),
    p99_ms: Math.max(...runs.map((r) => r.latency.p99)),
    // Every server's CPU over the run (extraction workers included), per add served.
    server_cpu_ms_per_add: cpuUsed.includes(undefined) || requests === 0
      ? null
      : Number((cpuUsed.reduce((sum: number, ms) => sum + ms!, 0) / requests).toFixed(2)),
    non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
    errors: runs.reduce((sum, r) => sum + r.errors, 0)
  })
}
console.log(JSON.stringify({ mode, engine, nodes, results }, null, 2))
for (const server of servers) server.kill("SIGTERM")
await Promise.all(servers.map((server) => new Promise((resolve) => server.exitCode === null ? server.on("exit", resolve) : resolve(undefined))))
cluster?.stop()
Fs.rmSync(dataDir, { recursive: true, force: true })
