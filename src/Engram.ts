/**
 * The composition root: the one place where Engram's Layer graph is assembled. `makeEngram` builds
 * the whole application from Config; serve, every CLI command, the eval, the benchmarks and the
 * tests all use it and replace only what they must (database, model, embedder, lock, token
 * counter). A second storage engine is one more branch of `database` here.
 */
import { SqlClient } from "@effect/sql"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { EmbedderChoiceConfig, ExtractionSettingsConfig, LlmSettingsConfig } from "./Config/EngramConfig.js"
import { DerivedRepo } from "./Extraction/DerivedRepo.js"
import { ExtractionWorkersLive } from "./Workers/ExtractionWorkers.js"
import { JobRunner } from "./Workers/JobRunner.js"
import { LlmExtractors } from "./Extraction/LlmExtractors.js"
import { LlmMemcellExtractor } from "./Extraction/LlmMemcellExtractor.js"
import { LocalExtractors } from "./Extraction/LocalExtractors.js"
import { EmbeddingIndexer } from "./Indexing/EmbeddingIndexer.js"
import { PassageVectors } from "./Indexing/PassageVectors.js"
import { PgVectorStore } from "./Indexing/PgVectorStore.js"
import { SqliteVectorStore } from "./Indexing/SqliteVectorStore.js"
import type { VectorStore } from "./Indexing/VectorStore.js"
import { ExtractionPlan } from "./Jobs/ExtractionPlan.js"
import { ExtractionSignal } from "./Jobs/ExtractionSignal.js"
import { JobQueue } from "./Jobs/JobQueue.js"
import { LedgerRepo } from "./Ledger/LedgerRepo.js"
import type { Embedder } from "./Llm/Embedder.js"
import type { LlmClient } from "./Llm/LlmClient.js"
import { LocalEmbedder } from "./Llm/LocalEmbedder.js"
import { withLlmMetrics } from "./Llm/MeteredLlmClient.js"
import { OpenAiEmbedder } from "./Llm/OpenAiEmbedder.js"
import { OpenAiLlmClient } from "./Llm/OpenAiLlmClient.js"
import { IdleFlusherLive } from "./Memorize/IdleFlusher.js"
import { LlmBoundaryDetector } from "./Memorize/LlmBoundaryDetector.js"
import { LocalBoundaryDetector } from "./Memorize/LocalBoundaryDetector.js"
import { MemcellRepo } from "./Memorize/MemcellRepo.js"
import { Memory } from "./Memorize/Memory.js"
import { SessionLease } from "./Memorize/SessionLease.js"
import { SessionLock } from "./Memorize/SessionLock.js"
import { AgentTrack } from "./AgentTrack/AgentTrack.js"
import { LlmAgentModel } from "./AgentTrack/AgentModel.js"
import { ProfileBuilder } from "./Profiles/ProfileBuilder.js"
import { LlmProfileModel } from "./Profiles/ProfileModel.js"
import { Forget } from "./Reading/Forget.js"
import { MemoryReader } from "./Reading/MemoryReader.js"
import { AgenticSearch } from "./Search/AgenticSearch.js"
import { LlmRerank } from "./Search/LlmRerank.js"
import { Search } from "./Search/Search.js"
import { SearchEntry } from "./Search/SearchEntry.js"
import { SearchRepo } from "./Search/SearchRepo.js"
import { TrackSearch } from "./Search/TrackSearch.js"
import * as Database from "./Storage/Database.js"
import { GroupCommit } from "./Storage/GroupCommit.js"
import { Lexicon } from "./Text/Lexicon.js"
import { Exporter } from "./Transfer/Export.js"
import { Importer } from "./Transfer/Import.js"
import { TokenCounter } from "./Text/TokenCounter.js"

/**
 * What may replace a part of the configured application. Each part is optional; left out, it
 * comes from Config (ENGRAM_*). `R` is whatever the replacements need from outside (a test can
 * pass `Layer.context<TokenCounter>()` to share one token counter across a file).
 */
export interface EngramParts<R = never> {
  /** Default: `$ENGRAM_DATA_DIR/engram.db`. */
  readonly database?: Layer.Layer<SqlClient.SqlClient, never, R>
  /**
   * The model behind the LLM boundary detector and extractors. Default: the OpenAI-compatible
   * client when ENGRAM_LLM_BASE_URL and ENGRAM_LLM_MODEL are set, else the offline detector and
   * extractors.
   */
  readonly llm?: Layer.Layer<LlmClient, never, R>
  /**
   * With `llm`: "llm" (default) one extraction call per kind, "llm-combined" one call per memcell,
   * "local" the offline extractors (only boundaries come from the model).
   */
  readonly extractors?: ExtractorsChoice
  /** Default: as ENGRAM_EMBEDDER says (the local model, an OpenAI-compatible endpoint, or none). */
  readonly embedder?: Layer.Layer<Embedder, never, R> | "none"
  /**
   * Default: the per-session lock with ENGRAM_LOCK_TIMEOUT (on Postgres with the cross-node lease
   * behind it). A replacement may use the database.
   */
  readonly lock?: Layer.Layer<SessionLock, never, R | SqlClient.SqlClient>
  /** Default: a fresh cl100k counter (building one takes a moment). */
  readonly tokenCounter?: Layer.Layer<TokenCounter, never, R>
  /** Default: a fresh lexicon (loading its language model takes a moment). */
  readonly lexicon?: Layer.Layer<Lexicon, never, R>
  /** Run the background work (extraction workers, idle flush) in the layer's scope. Default false. */
  readonly background?: boolean
}

type ExtractorsChoice = "llm" | "llm-combined" | "local"

/**
 * `MemcellExtractor` and `ExtractionPlan` are read with `Effect.serviceOption` by their consumers
 * (absent: one extraction call and one job per kind), so the type does not promise them.
 */
const optional = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<never, E, R> => layer

/**
 * The boundary detector and extractors over `llm`, and the extraction jobs they make a memcell.
 * The tracks' models (profiles, agent cases and skills) come with the LLM extractors: "local" keeps derived memory offline.
 * The client itself is provided too (one instance): search's LLM rerank and agentic search read
 * it with `Effect.serviceOption`, so the type does not promise it (offline there is none).
 */
const modelServicesOn = <R>(llm: Layer.Layer<LlmClient, never, R>, extractors: ExtractorsChoice) =>
  Layer.mergeAll(
    LlmBoundaryDetector.layerConfig,
    extractors === "local" ? LocalExtractors.layerConfig : LlmExtractors.layerConfig,
    extractors === "local" ? Layer.empty : optional(Layer.merge(LlmProfileModel, LlmAgentModel)),
    extractors === "llm-combined"
      ? optional(Layer.merge(LlmMemcellExtractor.layerConfig, ExtractionPlan.combined))
      : optional(ExtractionPlan.perKind),
    optional(Layer.context<LlmClient>())
  ).pipe(Layer.provide(llm))

/**
 * As ENGRAM_LLM_* and ENGRAM_EXTRACTION_CALLS say: over one metered OpenAI-compatible client (a
 * memcell extracted in one call unless `per_kind`), or offline (lexical segmenter, extractive
 * extractors, one job per kind).
 */
const configuredModelServices = Layer.unwrapEffect(
  Effect.map(Effect.all([LlmSettingsConfig, ExtractionSettingsConfig]), ([llm, extraction]) =>
    Option.match(llm, {
      onNone: () => Layer.mergeAll(LocalBoundaryDetector.layer, LocalExtractors.layerConfig, optional(ExtractionPlan.perKind)),
      onSome: (settings) =>
        modelServicesOn(
          withLlmMetrics(OpenAiLlmClient.layer(settings)).pipe(Layer.provide(NodeHttpClient.layerUndici)),
          extraction.extractionCalls === "combined" ? "llm-combined" : "llm"
        )
    }))
)

/**
 * The embedder with its runtime (vector table, `embed_*` jobs, reembed). Its consumers (JobRunner,
 * Search, /health, reembed) read `Embedder` / `EmbeddingIndexer` with `Effect.serviceOption`, so
 * the type promises nothing: with the embedder off, neither exists.
 */
const embeddingOn = <R>(
  embedder: Layer.Layer<Embedder, never, R>
): Layer.Layer<never, never, R | SqlClient.SqlClient | VectorStore | SearchRepo | PassageVectors> =>
  EmbeddingIndexer.Default.pipe(Layer.provideMerge(embedder), Layer.orDie)

/** As ENGRAM_EMBEDDER says: the local model (default), the ENGRAM_EMBED_* endpoint, or nothing. */
const configuredEmbedding = Layer.unwrapEffect(
  Effect.map(EmbedderChoiceConfig, (choice) => {
    switch (choice._tag) {
      case "Off":
        return Layer.empty
      case "Local":
        return embeddingOn(LocalEmbedder.layer(choice.settings))
      case "OpenAi":
        return embeddingOn(OpenAiEmbedder.layer(choice.settings).pipe(Layer.provide(NodeHttpClient.layerUndici)))
    }
  })
)

/** The VectorStore of the database's engine: pgvector on Postgres, sqlite-vec on SQLite. */
export const vectorStoreLayer: Layer.Layer<VectorStore, never, SqlClient.SqlClient> = Layer.unwrapEffect(
  Effect.map(SqlClient.SqlClient, (sql) => sql.onDialectOrElse({ pg: () => PgVectorStore, orElse: () => SqliteVectorStore }))
)

/**
 * The per-session lock by engine: on Postgres several nodes may share the database, so the
 * in-process lock gets the cross-node lease behind it; a SQLite file has one writer machine.
 */
const sessionLockByEngine = Layer.unwrapEffect(
  Effect.map(SqlClient.SqlClient, (sql) =>
    sql.onDialectOrElse({ pg: () => SessionLease.layerConfig, orElse: () => SessionLock.layerConfig }))
)

/** Background work: extraction workers and the idle flush, forked in the layer's scope. */
const BackgroundLive = Layer.mergeAll(ExtractionWorkersLive, IdleFlusherLive)

/** The whole application, stage by stage, on one database. */
export const makeEngram = <R = never>(parts: EngramParts<R> = {}) => {
  const storage = Layer.mergeAll(
    // One writer fiber for the whole application (the repos' own dependency on it is this same layer, so it is built once).
    GroupCommit.Default,
    LedgerRepo.Default,
    MemcellRepo.Default,
    JobQueue.Default,
    DerivedRepo.Default,
    SearchRepo.Default,
    vectorStoreLayer,
    PassageVectors.Default
  ).pipe(Layer.provideMerge(parts.database ?? Database.layerConfig))
  const models = parts.llm === undefined ? configuredModelServices : modelServicesOn(parts.llm, parts.extractors ?? "llm")
  const embedding = parts.embedder === undefined
    ? configuredEmbedding
    : parts.embedder === "none"
    ? Layer.empty
    : embeddingOn(parts.embedder)
  const shared = Layer.mergeAll(
    parts.lock ?? sessionLockByEngine,
    parts.tokenCounter ?? TokenCounter.Default,
    ExtractionSignal.Default,
    parts.lexicon ?? Lexicon.Default
  )
  const search = SearchEntry.Default.pipe(
    Layer.provideMerge(Layer.merge(AgenticSearch.Default, LlmRerank.Default)),
    Layer.provideMerge(Search.Default)
  )
  const app = Layer.mergeAll(
    Memory.Default,
    JobRunner.Default,
    MemoryReader.Default,
    Forget.Default,
    search,
    Exporter.Default,
    Importer.Default
  ).pipe(
    Layer.provideMerge(TrackSearch.Default),
    Layer.provideMerge(Layer.merge(ProfileBuilder.Default, AgentTrack.Default)),
    Layer.provideMerge(Layer.mergeAll(models, embedding)),
    Layer.provideMerge(shared),
    Layer.provideMerge(storage)
  )
  return parts.background === true ? BackgroundLive.pipe(Layer.provideMerge(app)) : app
}

/** What the application provides. */
export type EngramServices = Layer.Layer.Success<ReturnType<typeof makeEngram<never>>>

/** Engram on `$ENGRAM_DATA_DIR/engram.db` as configured, with its background work running. */
export const EngramLive = makeEngram({ background: true })

/** The same without background work: for commands that only read or write once and exit. */
export const EngramOnce = makeEngram()
