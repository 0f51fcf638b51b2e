/**
 * Extraction throughput: memcells fully extracted (episode + facts + foresight jobs) per second,
 * with a fake model answering instantly or after 200 ms, at worker concurrency 1, 8 and 32.
 * Run: npx tsx bench/extraction.ts [memcells=200]
 */
import { SqlClient } from "@effect/sql"
import { Effect, Schedule } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { ChatRequest } from "../src/Llm/LlmClient.js"
import { Memory } from "../src/Memorize/Memory.js"
import * as Database from "../src/Storage/Database.js"
import { extractionTestLayer } from "../test/support/ExtractionTestLayer.js"
import { boundaryAnswer } from "../test/support/MemoryTestLayer.js"
import { addRequest, keyOf } from "../test/support/Messages.js"

const memcells = Number(process.argv[2] ?? 200)

const answer = (request: ChatRequest) => {
  switch (request.purpose) {
    case "boundary":
      return boundaryAnswer([])
    case "episode":
      return JSON.stringify({ title: "Trip", content: "Alice plans a trip to Lisbon.", summary: "Alice's trip." })
    case "fact":
      return JSON.stringify({ facts: [{ content: "Alice lives in Berlin.", message_numbers: [1] }] })
    default:
      return JSON.stringify({ items: [] })
  }
}

const scenario = (latencyMs: number, concurrency: number) =>
  Effect.gen(function*() {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-extraction-bench-"))
    const layer = extractionTestLayer({
      // Latency only on extraction calls: the bench measures extraction, not boundary detection.
      llm: (request) => (latencyMs === 0 || request.purpose === "boundary" ? answer(request) : Effect.as(Effect.sleep(`${latencyMs} millis`), answer(request))),
      extractors: "llm",
      database: Database.layerFile(Path.join(dir, "engram.db")),
      env: { ENGRAM_EXTRACTION_CONCURRENCY: String(concurrency), ENGRAM_EXTRACTION_POLL_INTERVAL: "50 millis", ENGRAM_LLM_MAX_CONCURRENCY: "64" }
    })
    const result = yield* Effect.gen(function*() {
      const memory = yield* Memory
      const sql = yield* SqlClient.SqlClient
      const start = performance.now()
      for (let c = 0; c < memcells; c++) {
        const sid = `s${c}`
        yield* memory.add(addRequest(sid, [0, 1, 2, 3].map((i) => ({
          message_id: `${sid}-${i}`,
          sender_id: i % 2 === 0 ? "alice" : "assistant",
          role: i % 2 === 0 ? "user" as const : "assistant" as const,
          timestamp: 1_700_000_000_000 + i * 1000,
          content: `Message ${i} about the Lisbon trip and the flat in Berlin.`
        }))))
        yield* memory.flush(keyOf(sid))
      }
      // Every memcell's three jobs done.
      yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM extraction_jobs WHERE status <> 'done'`.pipe(
        Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (rows) => rows[0]!.n === 0 }),
        Effect.timeout("10 minutes")
      )
      const seconds = (performance.now() - start) / 1000
      return { latency_ms: latencyMs, concurrency, memcells, seconds: Number(seconds.toFixed(2)), memcells_per_second: Number((memcells / seconds).toFixed(1)) }
    }).pipe(Effect.provide(layer))
    Fs.rmSync(dir, { recursive: true, force: true })
    return result
  })

Effect.runPromise(Effect.gen(function*() {
  for (const latency of [0, 200]) {
    for (const concurrency of [1, 8, 32]) console.log(JSON.stringify(yield* scenario(latency, concurrency)))
  }
})).catch((error) => {
  console.error(error)
  process.exit(1)
})
