/**
 * Soak: mixed add / flush / search (or session reads while no search endpoint exists) at a fixed
 * request rate against the real server process (`engram serve`), with an OpenAI-compatible fake
 * model that answers after a realistic latency. Every minute it prints throughput, p50/p99 per
 * route and the server's RSS; flat RSS while the number of sessions seen keeps growing means the
 * lock map and caches do not leak. Loopback only; bounded by the duration.
 *
 * Run: npx tsx bench/soak.ts [minutes=10] [requests_per_second=10] [llm_latency_ms=200] [seed=1]
 */
import { Duration, Effect, FiberSet } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { FakeReply, makeFakeLlmServer } from "../test/support/FakeLlmServer.js"
import { call, type CallReply } from "../test/support/HttpCall.js"
import { scriptedAnswer } from "../test/support/ScriptedModel.js"
import { startServerProcess } from "../test/support/ServerProcess.js"

const minutes = Number(process.argv[2] ?? 10)
const rate = Number(process.argv[3] ?? 10)
const llmLatencyMs = Number(process.argv[4] ?? 200)
const seed = Number(process.argv[5] ?? 1)

/** Sessions receiving traffic at once; one is retired (flushed) and replaced every RETIRE_EVERY requests. */
const ACTIVE_SESSIONS = 20
const RETIRE_EVERY = 10
/** Requests allowed in flight; beyond that a scheduled request is counted as skipped (the server fell behind). */
const MAX_IN_FLIGHT = 200

const TOPICS = [
  "the kitchen renovation and which tiles to order for the backsplash",
  "training for the half marathon in October and the knee that keeps hurting",
  "the quarterly budget review and the vendor contract that renews in June",
  "planning a trip to Lisbon with the kids during the spring holidays",
  "the flaky integration test that fails only on the build server",
  "learning to bake sourdough and keeping the starter alive"
]

interface Sample {
  readonly route: string
  readonly status: number
  readonly ms: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!

const summarize = (samples: ReadonlyArray<Sample>) => {
  const routes = [...new Set(samples.map((s) => s.route))].sort()
  return Object.fromEntries(routes.map((route) => {
    const of = samples.filter((s) => s.route === route)
    const ms = of.map((s) => s.ms).sort((a, b) => a - b)
    return [route, {
      n: of.length,
      non2xx: of.filter((s) => s.status < 200 || s.status >= 300).length,
      p50_ms: Math.round(percentile(ms, 0.5) * 10) / 10,
      p99_ms: Math.round(percentile(ms, 0.99) * 10) / 10
    }]
  }))
}

const gauge = (metrics: string, name: string) => {
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)
  return match === null ? Number.NaN : Number(match[1])
}

const program = Effect.gen(function*() {
  let state = seed
  const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31

  const model = yield* makeFakeLlmServer({
    handler: (request) => FakeReply.slow(llmLatencyMs, FakeReply.answer(scriptedAnswer(request.body, { cutEvery: 6 })))
  })
  const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-soak-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dataDir, { recursive: true, force: true })))
  const server = yield* startServerProcess({
    dataDir,
    env: { ENGRAM_LLM_BASE_URL: model.baseUrl, ENGRAM_LLM_MODEL: "fake-model", ENGRAM_LLM_TIMEOUT: "10 seconds" }
  })

  const openapi = yield* call(`${server.url}/openapi.json`)
  const searchPath = Object.keys(openapi.body?.paths ?? {}).find((p) => p.startsWith("/api/v2/") && p.includes("search"))
  const searchMethod = searchPath === undefined ? undefined : Object.keys(openapi.body.paths[searchPath])[0]
  console.log(JSON.stringify({ minutes, rate, llmLatencyMs, seed, pid: server.pid, search: searchPath ?? "none (reads sessions instead)" }))

  // --- the workload -------------------------------------------------------------------------
  let messageCounter = 0
  let sessionsSeen = 0
  const newSession = () => ({ id: `soak-${sessionsSeen++}`, user: `user${sessionsSeen % 50}`, ts: 1_700_000_000_000, topic: 0 })
  const active = Array.from({ length: ACTIVE_SESSIONS }, newSession)

  const addBody = (session: (typeof active)[number]) => {
    if (random() < 0.15) session.topic = Math.floor(random() * TOPICS.length)
    const count = 1 + Math.floor(random() * 3)
    return {
      session_id: session.id,
      messages: Array.from({ length: count }, (_, i) => {
        session.ts += 30_000
        const n = messageCounter++
        const user = i % 2 === 0
        return {
          message_id: `m-${n}`,
          sender_id: user ? session.user : "assistant",
          role: user ? "user" : "assistant",
          timestamp: session.ts,
          content: `${user ? "I keep thinking about" : "Let's go over"} ${TOPICS[session.topic]} (note ${n}).`
        }
      })
    }
  }

  const searchRequest = (session: (typeof active)[number]) => {
    const query = TOPICS[Math.floor(random() * TOPICS.length)]!.split(" ").slice(0, 4).join(" ")
    return searchMethod === "get"
      ? call(`${server.url}${searchPath}?query=${encodeURIComponent(query)}&user_id=${session.user}`)
      : call(`${server.url}${searchPath}`, { json: { query, user_id: session.user } })
  }

  /** One scheduled request: its route name and the call. */
  const nextRequest = (index: number): readonly [string, Effect.Effect<CallReply, unknown>] => {
    if (index > 0 && index % RETIRE_EVERY === 0) {
      const slot = Math.floor(random() * active.length)
      const retired = active[slot]!
      active[slot] = newSession()
      return ["flush", call(`${server.url}/api/v2/memory/flush`, { json: { session_id: retired.id } })]
    }
    const session = active[Math.floor(random() * active.length)]!
    const roll = random()
    if (roll < 0.75) return ["add", call(`${server.url}/api/v2/memory/add`, { json: addBody(session) })]
    if (roll < 0.85) return ["flush", call(`${server.url}/api/v2/memory/flush`, { json: { session_id: session.id } })]
    return searchPath === undefined
      ? ["session", call(`${server.url}/api/v2/memory/sessions/${session.id}`)]
      : ["search", searchRequest(session)]
  }

  // --- measuring ----------------------------------------------------------------------------
  let minuteSamples: Array<Sample> = []
  const allSamples: Array<Sample> = []
  let transportErrors = 0
  let skipped = 0
  const rows: Array<Record<string, unknown>> = []

  const record = (route: string, startedAt: number) => (reply: CallReply) =>
    Effect.sync(() => {
      const sample = { route, status: reply.status, ms: performance.now() - startedAt }
      minuteSamples.push(sample)
      allSamples.push(sample)
    })

  let windowStartedAt = performance.now()
  const report = (minute: number) =>
    Effect.gen(function*() {
      const samples = minuteSamples
      const windowS = (performance.now() - windowStartedAt) / 1000
      minuteSamples = []
      windowStartedAt = performance.now()
      const metrics = yield* call(`${server.url}/metrics`).pipe(Effect.map((r) => r.text), Effect.orElseSucceed(() => ""))
      const row = {
        minute,
        requests_per_s: Math.round((samples.length / windowS) * 10) / 10,
        rss_mib: Math.round((yield* server.rssKiB) / 1024),
        sessions_seen: sessionsSeen,
        buffered: gauge(metrics, "engram_buffered_messages"),
        memcells: gauge(metrics, "engram_memcells"),
        transport_errors: transportErrors,
        skipped,
        routes: summarize(samples)
      }
      rows.push(row)
      console.log(JSON.stringify(row))
    })

  const inFlight = yield* FiberSet.make<unknown, never>()
  const startedAt = performance.now()
  windowStartedAt = startedAt
  const total = Math.round(minutes * 60 * rate)
  let nextMinute = 1
  for (let index = 0; index < total; index++) {
    const due = startedAt + (index * 1000) / rate
    const wait = due - performance.now()
    if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
    if (performance.now() - startedAt >= nextMinute * 60_000) yield* report(nextMinute++)
    if ((yield* FiberSet.size(inFlight)) >= MAX_IN_FLIGHT) {
      skipped++
      continue
    }
    const [route, request] = nextRequest(index)
    const begun = performance.now()
    yield* FiberSet.run(
      inFlight,
      request.pipe(
        Effect.flatMap(record(route, begun)),
        Effect.catchAll(() => Effect.sync(() => transportErrors++))
      )
    )
  }
  // Let the last requests finish (bounded), then the final minute.
  yield* FiberSet.awaitEmpty(inFlight).pipe(Effect.timeout("60 seconds"), Effect.ignore)
  if (minuteSamples.length > 0) yield* report(nextMinute)

  const elapsedS = (performance.now() - startedAt) / 1000
  console.log(JSON.stringify({
    summary: {
      elapsed_s: Math.round(elapsedS),
      requests: allSamples.length,
      requests_per_s: Math.round((allSamples.length / elapsedS) * 10) / 10,
      transport_errors: transportErrors,
      skipped,
      sessions_seen: sessionsSeen,
      rss_mib_first: rows[0]?.rss_mib,
      rss_mib_last: rows.at(-1)?.rss_mib,
      llm_requests: (yield* model.requests).length,
      routes: summarize(allSamples)
    }
  }))
  const code = yield* server.stop("SIGTERM")
  console.log(JSON.stringify({ server_exit_code: code }))
})

Effect.runPromise(Effect.scoped(program)).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
