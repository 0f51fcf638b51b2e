import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { EmbedderSettingsConfig, LlmSettingsConfig } from "./Config/EngramConfig.js"
import { ExtractionSignal } from "./Jobs/ExtractionSignal.js"
import { ExtractionWorkersLive } from "./Extraction/ExtractionWorkers.js"
import { JobRunner } from "./Extraction/JobRunner.js"
import { LlmExtractors } from "./Extraction/LlmExtractors.js"
import { LocalExtractors } from "./Extraction/LocalExtractors.js"
import { withLlmMetrics } from "./Llm/MeteredLlmClient.js"
import { OpenAiEmbedder } from "./Llm/OpenAiEmbedder.js"
import { OpenAiLlmClient } from "./Llm/OpenAiLlmClient.js"
import { IdleFlusherLive } from "./Memorize/IdleFlusher.js"
import { LlmBoundaryDetector } from "./Memorize/LlmBoundaryDetector.js"
import { LocalBoundaryDetector } from "./Memorize/LocalBoundaryDetector.js"
import { Forget } from "./Reading/Forget.js"
import { Memory } from "./Memorize/Memory.js"
import { SessionLock } from "./Memorize/SessionLock.js"
import { MemoryReader } from "./Reading/MemoryReader.js"
import { EmbeddingIndexer } from "./Indexing/EmbeddingIndexer.js"
import { Search } from "./Search/Search.js"
import { LedgerRepo } from "./Ledger/LedgerRepo.js"
import * as Database from "./Storage/Database.js"
import { DerivedRepo } from "./Extraction/DerivedRepo.js"
import { JobQueue } from "./Jobs/JobQueue.js"
import { MemcellRepo } from "./Memorize/MemcellRepo.js"
import { SearchRepo } from "./Search/SearchRepo.js"
import { VectorStore } from "./Indexing/VectorStore.js"
import { Lexicon } from "./Text/Lexicon.js"
import { TokenCounter } from "./Text/TokenCounter.js"

/**
 * The model-dependent services the configuration asks for: with ENGRAM_LLM_BASE_URL and
 * ENGRAM_LLM_MODEL set, the LLM boundary detector and extractors over one metered OpenAI-compatible
 * client; otherwise the offline lexical segmenter and extractive extractors.
 */
export const ModelServicesLive = Layer.unwrapEffect(
  Effect.map(LlmSettingsConfig, (llm) =>
    Option.match(llm, {
      onNone: () => Layer.mergeAll(LocalBoundaryDetector.layer, LocalExtractors.layerConfig),
      onSome: (settings) =>
        Layer.mergeAll(LlmBoundaryDetector.layerConfig, LlmExtractors.layerConfig).pipe(
          Layer.provide(withLlmMetrics(OpenAiLlmClient.layer(settings))),
          Layer.provide(NodeHttpClient.layerUndici)
        )
    }))
).pipe(Layer.provide(Lexicon.Default))

/** Hides what `layer` provides from the types: for services consumers read with `Effect.serviceOption`. */
const optionalServices = <A, R>(layer: Layer.Layer<A, never, R>): Layer.Layer<never, never, R> =>
  layer as unknown as Layer.Layer<never, never, R>

/**
 * With ENGRAM_EMBED_* set: the OpenAI-compatible embedder and the embedding runtime (vector
 * table, `embed_*` jobs, reembed). With none set it provides nothing; its consumers (JobRunner,
 * Search, /health) read `Embedder` / `EmbeddingIndexer` with `Effect.serviceOption`, so the type
 * says "nothing" rather than promise services that may be absent.
 */
export const EmbeddingServicesLive = Layer.unwrapEffect(
  Effect.map(EmbedderSettingsConfig, (embed) =>
    Option.match(embed, {
      onNone: () => Layer.empty,
      onSome: (settings) =>
        optionalServices(
          EmbeddingIndexer.withEmbedder(OpenAiEmbedder.layer(settings).pipe(Layer.provide(NodeHttpClient.layerUndici))).pipe(Layer.orDie)
        )
    }))
)

/** Repositories over one database layer. */
const repositories = Layer.mergeAll(
  LedgerRepo.Default,
  MemcellRepo.Default,
  JobQueue.Default,
  DerivedRepo.Default,
  SearchRepo.Default,
  VectorStore.Default
)

/**
 * Everything memorize and extraction need, from Config, on a given database layer (the workers
 * are not started; see `EngramLive`). Host apps provide this and use the `Memory` service.
 */
export const memoryLayer = <E, R>(database: Layer.Layer<Database.SqlLayerServices, E, R>) =>
  Layer.mergeAll(Memory.Default, JobRunner.Default, MemoryReader.Default, Forget.Default, Search.Default).pipe(
    Layer.provideMerge(
      Layer.mergeAll(ModelServicesLive, SessionLock.layerConfig, TokenCounter.Default, ExtractionSignal.Default, EmbeddingServicesLive, Lexicon.Default)
    ),
    Layer.provideMerge(repositories),
    Layer.provideMerge(database)
  )

/** Background work: extraction workers and the idle flush. */
export const BackgroundLive = Layer.mergeAll(ExtractionWorkersLive, IdleFlusherLive)

/** Memory on `$ENGRAM_DATA_DIR/engram.db` with its background work running. */
export const EngramLive = BackgroundLive.pipe(Layer.provideMerge(memoryLayer(Database.layerConfig)))
