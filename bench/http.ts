/**
 * Add latency and throughput over HTTP (loopback only, bounded).
 * Run: npx tsx bench/http.ts [seconds=10] [offline|instant]
 * offline (default): the server as `engram serve` runs without an LLM (local boundary detector and
 * extractors, extraction workers running); instant: a fake model that cuts on every add.
 * The server runs in a child process so the load generator does not share its event loop.
 */
import autocannon from "autocannon"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const seconds = Number(process.argv[2] ?? 10)
const mode = process.argv[3] ?? "offline"
const port = 18_000 + Math.floor(Math.random() * 1000)
const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-http-bench-"))

const server = spawn(process.execPath, ["--import", "tsx", Path.join(import.meta.dirname, "httpServer.ts"), String(port), dataDir, mode], {
  stdio: ["ignore", "pipe", "inherit"]
})
await new Promise<void>((resolve) => server.stdout!.on("data", (chunk) => String(chunk).includes("ready") && resolve()))

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

const run = (connections: number) =>
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
  const result = await run(connections)
  results.push({
    connections,
    requests: result.requests.total,
    adds_per_second: Math.round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors
  })
}
console.log(JSON.stringify({ mode, results }, null, 2))
server.kill("SIGTERM")
Fs.rmSync(dataDir, { recursive: true, force: true })
