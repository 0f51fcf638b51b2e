import { HttpApiBuilder } from "@effect/platform"
import { Clock, Effect, Metric, Option } from "effect"
import { LlmSettingsConfig, TrackSettingsConfig } from "../Config/EngramConfig.js"
import { VectorStore } from "../Indexing/VectorStore.js"
import { Embedder } from "../Llm/Embedder.js"
import { LlmClient } from "../Llm/LlmClient.js"
import { BoundaryDetector } from "../Memorize/BoundaryDetector.js"
import { LedgerRepo } from "../Ledger/LedgerRepo.js"
import { JobQueue } from "../Jobs/JobQueue.js"
import { MemcellRepo } from "../Memorize/MemcellRepo.js"
import { EventLoopMonitor } from "../Observability/EventLoop.js"
import { EngramApi } from "./Api.js"
import { VERSION } from "../Version.js"
import { renderPrometheus } from "./Prometheus.js"

const bufferedGauge = Metric.gauge("engram_buffered_messages", { description: "Messages waiting in session buffers" })
const memcellGauge = Metric.gauge("engram_memcells", { description: "Memcells stored" })
const eventLoopDelayGauge = Metric.gauge("engram_event_loop_delay_seconds", {
  description: "Event-loop delay since the previous scrape (stat: max, p50, p99); a stall here delays every request"
})
const jobsGauge = Metric.gauge("engram_jobs", {
  description: "Extraction jobs by status (failed: queued again after a failed attempt, also counted in queued)"
})

/** /health (always 200 while the process serves) and /metrics (Prometheus text). */
export const SystemHttpLive = HttpApiBuilder.group(EngramApi, "system", (handlers) =>
  Effect.gen(function*() {
    const llm = yield* LlmSettingsConfig
    // Absent when ENGRAM_EMBEDDER is off (or a test provides none).
    const embedder = yield* Effect.serviceOption(Embedder)
    const detector = yield* BoundaryDetector
    const buffers = yield* LedgerRepo
    const memcells = yield* MemcellRepo
    const jobs = yield* JobQueue
    const eventLoop = yield* EventLoopMonitor
    const jobCounts = Effect.map(Effect.all([jobs.counts, jobs.failedRetrying]), ([counts, failed]) => ({
      queued: counts.queued,
      running: counts.running,
      failed,
      dead: counts.dead
    }))
    // Present when an LLM is configured (or a test provides one): rerank and agentic search use it.
    const llmClient = yield* Effect.serviceOption(LlmClient)
    // Whether this database can hold vectors at all (Postgres needs pgvector); fixed per process.
    const vectorStore = yield* VectorStore
    const vectorsUsable = Option.isSome(embedder) && Option.isNone(vectorStore.extension)
    // Agentic search needs both: an LLM for its rounds, an embedder for its hybrid retrieval.
    const tracks = yield* TrackSettingsConfig
    const disabled_features = [
      ...(tracks.profiles ? [] : ["profiles"]),
      ...(tracks.agentTrack ? [] : ["agent_cases", "agent_skills"]),
      ...(Option.isNone(llmClient) ? ["llm_rerank"] : []),
      ...(Option.isNone(llmClient) || !vectorsUsable ? ["agentic_search"] : []),
      ...(vectorsUsable ? [] : ["vector_search", "hybrid_search"])
    ]
    const startedAt = yield* Clock.currentTimeMillis
    return handlers
      .handle("health", () =>
        Effect.map(
          // Health stays 200 when storage cannot be read; the job counts say so with null.
          Effect.all([Clock.currentTimeMillis, Effect.orElseSucceed(jobCounts, () => null)]),
          ([now, jobCountsOrNull]) => ({
            status: "ok" as const,
            version: VERSION,
            capabilities: {
              llm: Option.isSome(llm),
              embed: Option.isSome(embedder),
              embedder: Option.match(embedder, {
                onNone: () => null,
                onSome: ({ dimensions, model }) => ({ model, dimensions })
              }),
              vectors: {
                store: vectorStore.store,
                available: Option.isNone(vectorStore.extension),
                hint: Option.getOrNull(vectorStore.extension)
              },
              rerank: Option.isSome(llmClient),
              multimodal_llm: false,
              parser: false,
              boundary_detector: detector.name
            },
            disabled_features,
            uptime_seconds: Math.round((now - startedAt) / 1000),
            jobs: jobCountsOrNull
          })
        ))
      .handle("metrics", () =>
        Effect.gen(function*() {
          // Gauges are read at scrape time; a storage hiccup must not turn a scrape into a 500.
          const [buffered, cells] = yield* Effect.all([buffers.countBuffered, memcells.count]).pipe(
            Effect.orElseSucceed(() => [Number.NaN, Number.NaN] as const)
          )
          yield* Metric.set(bufferedGauge, buffered)
          yield* Metric.set(memcellGauge, cells)
          const queue = yield* Effect.orElseSucceed(jobCounts, () => ({ queued: NaN, running: NaN, failed: NaN, dead: NaN }))
          for (const [status, n] of Object.entries(queue)) yield* Metric.set(Metric.tagged(jobsGauge, "status", status), n)
          const delay = yield* eventLoop.read
          for (const [stat, seconds] of Object.entries(delay)) yield* Metric.set(Metric.tagged(eventLoopDelayGauge, "stat", stat), seconds)
          return renderPrometheus(yield* Metric.snapshot)
        }))
  })
)
