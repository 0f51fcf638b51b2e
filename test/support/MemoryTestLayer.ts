import type { SqlClient } from "@effect/sql"
import { ConfigProvider, Layer } from "effect"
import type { FakeLlm, FakeLlmHandler } from "./FakeLlm.js"
import { fakeLlmLayer } from "./FakeLlm.js"
import type { LlmClient } from "../../src/Llm/LlmClient.js"
import type { BoundaryDetector } from "../../src/Memorize/BoundaryDetector.js"
import { LlmBoundaryDetector } from "../../src/Memorize/LlmBoundaryDetector.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { SessionLock } from "../../src/Memorize/SessionLock.js"
import { LedgerRepo } from "../../src/Ledger/LedgerRepo.js"
import * as Database from "../../src/Storage/Database.js"
import { MemcellRepo } from "../../src/Memorize/MemcellRepo.js"
import { JobQueue } from "../../src/Jobs/JobQueue.js"
import { DerivedRepo } from "../../src/Extraction/DerivedRepo.js"
import { ExtractionSignal } from "../../src/Jobs/ExtractionSignal.js"
import type { TokenCounter } from "../../src/Text/TokenCounter.js"

/** Settings as they would come from `ENGRAM_*` variables. */
export const configLayer = (env: Record<string, string> = {}) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_" }))

export interface MemoryTestOptions {
  readonly llm: FakeLlmHandler
  /** Defaults to the real per-session lock. */
  readonly lock?: "real" | "noop"
  /** Defaults to a private in-memory database. */
  readonly database?: Layer.Layer<SqlClient.SqlClient>
  readonly env?: Record<string, string>
}

/**
 * Memory on real SQLite with the deterministic fake model behind the LLM boundary detector.
 * TokenCounter is left to the caller so a test file can build it once (it takes ~250 ms).
 */
export const memoryTestLayer = (
  options: MemoryTestOptions
): Layer.Layer<
  | Memory
  | LedgerRepo
  | MemcellRepo
  | JobQueue
  | DerivedRepo
  | ExtractionSignal
  | FakeLlm
  | LlmClient
  | BoundaryDetector
  | SessionLock
  | SqlClient.SqlClient,
  never,
  TokenCounter
> => {
  const config = configLayer(options.env)
  const lock = options.lock === "noop" ? SessionLock.noop : SessionLock.layerConfig
  const repos = Layer.mergeAll(LedgerRepo.Default, MemcellRepo.Default, JobQueue.Default, DerivedRepo.Default, ExtractionSignal.Default).pipe(
    Layer.provideMerge(options.database ?? Database.layerMemory)
  )
  const llm = fakeLlmLayer(options.llm)
  return Memory.Default.pipe(
    Layer.provideMerge(Layer.mergeAll(repos, LlmBoundaryDetector.layerConfig.pipe(Layer.provideMerge(llm)), lock)),
    Layer.provide(config),
    Layer.orDie
  )
}

/** A boundary answer as the model would give it. */
export const boundaryAnswer = (boundaries: ReadonlyArray<number>) =>
  JSON.stringify({ reasoning: "test", boundaries, should_wait: false })
