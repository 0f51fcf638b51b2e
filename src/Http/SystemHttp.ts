import { HttpApiBuilder } from "@effect/platform"
import { Clock, Effect, Metric, Option } from "effect"
import { LlmSettingsConfig } from "../Config/EngramConfig.js"
import { BoundaryDetector } from "../Memorize/BoundaryDetector.js"
import { BufferRepo } from "../Store/BufferRepo.js"
import { MemcellRepo } from "../Store/MemcellRepo.js"
import { EngramApi } from "./Api.js"
import { VERSION } from "../Version.js"
import { renderPrometheus } from "./Prometheus.js"

const bufferedGauge = Metric.gauge("engram_buffered_messages", { description: "Messages waiting in session buffers" })
const memcellGauge = Metric.gauge("engram_memcells", { description: "Memcells stored" })

/** /health (always 200 while the process serves) and /metrics (Prometheus text). */
export const SystemHttpLive = HttpApiBuilder.group(EngramApi, "system", (handlers) =>
  Effect.gen(function*() {
    const llm = yield* LlmSettingsConfig
    const detector = yield* BoundaryDetector
    const buffers = yield* BufferRepo
    const memcells = yield* MemcellRepo
    const startedAt = yield* Clock.currentTimeMillis
    return handlers
      .handle("health", () =>
        Effect.map(Clock.currentTimeMillis, (now) => ({
          status: "ok" as const,
          version: VERSION,
          capabilities: { llm: Option.isSome(llm), embed: false, rerank: false, boundary_detector: detector.name },
          uptime_seconds: Math.round((now - startedAt) / 1000)
        })))
      .handle("metrics", () =>
        Effect.gen(function*() {
          // Gauges are read at scrape time; a storage hiccup must not turn a scrape into a 500.
          const [buffered, cells] = yield* Effect.all([buffers.countBuffered, memcells.count]).pipe(
            Effect.orElseSucceed(() => [Number.NaN, Number.NaN] as const)
          )
          yield* Metric.set(bufferedGauge, buffered)
          yield* Metric.set(memcellGauge, cells)
          return renderPrometheus(yield* Metric.snapshot)
        }))
  })
)
