import type { SqlClient } from "@effect/sql"
import { ConfigProvider, Layer } from "effect"
import { makeEngram } from "../../src/Engram.js"
import type { Embedder } from "../../src/Llm/Embedder.js"
import type { LlmClient } from "../../src/Llm/LlmClient.js"
import { SessionLock } from "../../src/Memorize/SessionLock.js"
import * as Database from "../../src/Storage/Database.js"
import { Lexicon } from "../../src/Text/Lexicon.js"
import { TokenCounter } from "../../src/Text/TokenCounter.js"
import { type FakeLlmHandler, fakeLlmLayer } from "./FakeLlm.js"

/** The token counter and the lexicon, for the caller of `memoryTestLayer` to build once. */
export const textServices = Layer.mergeAll(TokenCounter.Default, Lexicon.Default)

/** Settings as they would come from `ENGRAM_*` variables. */
export const configLayer = (env: Record<string, string> = {}) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_" }))

export interface MemoryTestOptions {
  readonly llm: FakeLlmHandler
  /** Defaults to the real per-session lock (on Postgres with the cross-node lease); or a lock layer of the test's own. */
  readonly lock?: "real" | "noop" | Layer.Layer<SessionLock, never, SqlClient.SqlClient>
  /** Defaults to a private in-memory database. */
  readonly database?: Layer.Layer<SqlClient.SqlClient>
  /** Defaults to none (keyword search only). */
  readonly embedder?: Layer.Layer<Embedder>
  /**
   * "llm" (default): extraction over the fake model too, one job per kind; "llm-combined": one
   * `memcell` job per memcell, one combined call; "local": the offline extractors.
   */
  readonly extractors?: "llm" | "llm-combined" | "local"
  /** Run the extraction workers and the idle flush (default false). */
  readonly background?: boolean
  /**
   * Settings; the tracks beyond episodes, facts and foresight (ENGRAM_PROFILES, ENGRAM_AGENT_TRACK)
   * are off unless set here, so a test sees exactly the jobs it is about.
   */
  readonly env?: Record<string, string>
}

/** The tracks beyond episodes, facts and foresight, off: what a test not about them runs with. */
export const TRACKS_OFF = { ENGRAM_PROFILES: "off", ENGRAM_AGENT_TRACK: "off" }

/**
 * The application from the composition root on real SQLite, with the deterministic fake model as
 * its LLM (boundaries asked as ENGRAM_BOUNDARY_STRATEGY says, default `selective` as in
 * production) and no background work. The text services (`textServices`) are left to the caller so a
 * test file can build them once (together about 750 ms).
 */
export const memoryTestLayer = (options: MemoryTestOptions) =>
  makeEngram<LlmClient | TokenCounter | Lexicon>({
    database: options.database ?? Database.layerMemory,
    llm: Layer.context<LlmClient>(),
    extractors: options.extractors ?? "llm",
    embedder: options.embedder ?? "none",
    tokenCounter: Layer.context<TokenCounter>(),
    lexicon: Layer.context<Lexicon>(),
    ...(options.lock === "noop" ? { lock: SessionLock.noop } : typeof options.lock === "object" ? { lock: options.lock } : {}),
    ...(options.background === true ? { background: true } : {})
  }).pipe(
    Layer.provideMerge(fakeLlmLayer(options.llm)),
    Layer.provide(configLayer({ ...TRACKS_OFF, ...options.env })),
    Layer.orDie
  )

/** A boundary answer as the model would give it. */
export const boundaryAnswer = (boundaries: ReadonlyArray<number>) =>
  JSON.stringify({ reasoning: "test", boundaries, should_wait: false })
