import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { EmbedderChoiceConfig, ExtractionSettingsConfig, LlmSettingsConfig } from "./Config/EngramConfig.js"
import { ExtractionPlan } from "./Extraction/ExtractionPlan.js"
import { LlmMemcellExtractor } from "./Extraction/LlmMemcellExtractor.js"
import { ExtractionSignal } from "./Extraction/ExtractionSignal.js"
import { ExtractionWorkersLive } from "./Extraction/ExtractionWorkers.js"
import { JobRunner } from "./Extraction/JobRunner.js"
import { LlmExtractors } from "./Extraction/LlmExtractors.js"
import { LocalExtractors } from "./Extraction/LocalExtractors.js"
import { withLlmMetrics } from "./Llm/MeteredLlmClient.js"
import { LocalEmbedder } from "./Llm/LocalEmbedder.js"
import { OpenAiEmbedder } from "./Llm/OpenAiEmbedder.js"
import { OpenAiLlmClient } from "./Llm/OpenAiLlmClient.js"
import { IdleFlusherLive } from "./Memorize/IdleFlusher.js"
import { LlmBoundaryDetector } from "./Memorize/LlmBoundaryDetector.js"
import { LocalBoundaryDetector } from "./Memorize/LocalBoundaryDetector.js"
import { Forget } from "./Memorize/Forget.js"
import { Memory } from "./Memorize/Memory.js"
import { SessionLock } from "./Memorize/SessionLock.js"
import { MemoryReader } from "./Retrieval/MemoryReader.js"
import { EmbeddingIndexer } from "./Search/EmbeddingIndexer.js"
import { Search } from "./Search/Search.js"
import { BufferRepo } from "./Store/BufferRepo.js"
import * as Database from "./Store/Database.js"
import { DerivedRepo } from "./Store/DerivedRepo.js"
import { JobRepo } from "./Store/JobRepo.js"
import { MemcellRepo } from "./Store/MemcellRepo.js"
import { SearchRepo } from "./Store/SearchRepo.js"
import { VectorStore } from "./Store/VectorStore.js"
import { Lexicon } from "./Text/Lexicon.js"
import { TokenCounter } from "./Text/TokenCounter.js"

/** Hides what `layer` provides from the types: for services consumers read with `Effect.serviceOption`. */
const optionalServices = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<never, E, R> =>
  layer as unknown as Layer.Layer<never, E, R>

/**
 * The model-dependent services the configuration asks for: with ENGRAM_LLM_BASE_URL and
 * ENGRAM_LLM_MODEL set, the LLM boundary detector (asked as ENGRAM_BOUNDARY_STRATEGY says) and
 * extractors over one metered OpenAI-compatible client, extracting a memcell in one call unless
 * ENGRAM_EXTRACTION_CALLS=per_kind; otherwise the offline lexical segmenter and extractive
 * extractors, one job per kind. `MemcellExtractor` and `ExtractionPlan` are read with
 * `Effect.serviceOption` by their consumers, so they are hidden from the type.
 */
export const ModelServicesLive = Layer.unwrapEffect(
  Effect.map(Effect.all([LlmSettingsConfig, ExtractionSettingsConfig]), ([llm, extraction]) =>
    Option.match(llm, {
      onNone: () => Layer.mergeAll(LocalBoundaryDetector.layer, LocalExtractors.layerConfig, optionalServices(ExtractionPlan.perKind)),
      onSome: (settings) =>
        Layer.mergeAll(
          LlmBoundaryDetector.layerConfig,
          LlmExtractors.layerConfig,
          extraction.extractionCalls === "combined"
            ? optionalServices(Layer.merge(LlmMemcellExtractor.layerConfig, ExtractionPlan.combined))
            : optionalServices(ExtractionPlan.perKind)
        ).pipe(
          Layer.provide(withLlmMetrics(OpenAiLlmClient.layer(settings))),
          Layer.provide(NodeHttpClient.layerUndici)
        )
    }))
).pipe(Layer.provide(Layer.merge(Lexicon.Default, TokenCounter.Default)))

/**
 * The embedder ENGRAM_EMBEDDER chooses (default: the local model, or the ENGRAM_EMBED_* endpoint
 * when one is set) with the embedding runtime (vector table, `embed_*` jobs, reembed). Switched
 * off it provides nothing; its consumers (JobRunner, Search, /health) read `Embedder` /
 * `EmbeddingIndexer` with `Effect.serviceOption`, so the type says "nothing" rather than promise
 * services that may be absent.
 */
export const EmbeddingServicesLive = Layer.unwrapEffect(
  Effect.map(EmbedderChoiceConfig, (choice) => {
    switch (choice._tag) {
      case "Off":
        return Layer.empty
      case "Local":
        return optionalServices(EmbeddingIndexer.withEmbedder(LocalEmbedder.layer(choice.settings)).pipe(Layer.orDie))
      case "OpenAi":
        return optionalServices(
          EmbeddingIndexer.withEmbedder(OpenAiEmbedder.layer(choice.settings).pipe(Layer.provide(NodeHttpClient.layerUndici))).pipe(
            Layer.orDie
          )
        )
    }
  })
)

/** Repositories over one database layer. */
const repositories = Layer.mergeAll(
  BufferRepo.Default,
  MemcellRepo.Default,
  JobRepo.Default,
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
