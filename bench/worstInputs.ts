/**
 * Cost of the worst legal add bodies against a real server (child process, offline mode): the
 * add's latency, the slowest /health answered on another connection meanwhile, the flush (with
 * extraction) that follows, and whether SIGTERM then stops the server.
 * Run: npx tsx bench/worstInputs.ts [checkout dir, default this one] [case numbers, e.g. 0,1]
 * Each request gives up after 120 s (reported as status 0).
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const root = process.argv[2] ?? Path.join(import.meta.dirname, "..")
const cases: ReadonlyArray<readonly [string, () => string]> = [
  ["x * 2,000,000", () => "x".repeat(2_000_000)],
  ["base64 1 MB", () => Buffer.from(Array.from({ length: 786_432 }, (_, i) => (i * 2654435761) % 256)).toString("base64")],
  ["hex 1 MB", () => Buffer.from(Array.from({ length: 524_288 }, (_, i) => (i * 2654435761) % 256)).toString("hex")],
  ["CJK 300k chars", () => "我们明天去东京开会然后回家吃饭".repeat(20_000)],
  ["English 1 MB", () => "I moved to Berlin last year and next Friday I am flying to Lisbon for a conference. ".repeat(12_000)]
]

const post = async (url: string, body: unknown) => {
  const started = performance.now()
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(120_000)
    })
    await response.text()
    return { status: response.status, ms: Math.round(performance.now() - started) }
  } catch {
    return { status: 0, ms: Math.round(performance.now() - started) }
  }
}

const chosen = process.argv[3]?.split(",").map(Number)

for (const [index, [name, make]] of cases.entries()) {
  if (chosen !== undefined && !chosen.includes(index)) continue
  const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-worst-"))
  const port = 19_000 + Math.floor(Math.random() * 1000)
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "serve", "--port", String(port), "--data-dir", dataDir], {
    cwd: root,
    env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("ENGRAM_"))),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const exited = new Promise<number>((resolve) => child.on("exit", () => resolve(performance.now())))
  while (!output.includes("Listening on")) await new Promise((resolve) => setTimeout(resolve, 100))
  const url = `http://127.0.0.1:${port}`
  let slowestHealth = 0
  let polling = true
  const poller = (async () => {
    while (polling) {
      const started = performance.now()
      await fetch(`${url}/health`, { signal: AbortSignal.timeout(120_000) }).then((r) => r.text()).catch(() => "")
      slowestHealth = Math.max(slowestHealth, performance.now() - started)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  const content = make()
  const add = await post(`${url}/api/v2/memory/add`, {
    session_id: "worst",
    messages: [{ sender_id: "alice", role: "user", timestamp: 1_715_018_400_000, content }]
  })
  const flush = await post(`${url}/api/v2/memory/flush`, { session_id: "worst", wait: true })
  polling = false
  await poller
  const sigterm = performance.now()
  child.kill("SIGTERM")
  const stopped = await Promise.race([exited, new Promise<number>((resolve) => setTimeout(() => resolve(Number.NaN), 60_000))])
  if (Number.isNaN(stopped)) child.kill("SIGKILL")
  console.log(JSON.stringify({
    case: name,
    chars: content.length,
    add_status: add.status,
    add_ms: add.ms,
    flush_status: flush.status,
    flush_wait_ms: flush.ms,
    slowest_health_ms: Math.round(slowestHealth),
    sigterm_exit_ms: Number.isNaN(stopped) ? "no exit in 60 s" : Math.round(stopped - sigterm)
  }))
  Fs.rmSync(dataDir, { recursive: true, force: true })
}
