import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { LlmSettingsConfig } from "./Config/EngramConfig.js"
import { OpenAiLlmClient } from "./Llm/OpenAiLlmClient.js"
import { IdleFlusherLive } from "./Memorize/IdleFlusher.js"
import { LlmBoundaryDetector } from "./Memorize/LlmBoundaryDetector.js"
import { LocalBoundaryDetector } from "./Memorize/LocalBoundaryDetector.js"
import { Memory } from "./Memorize/Memory.js"
import { SessionLock } from "./Memorize/SessionLock.js"
import { BufferRepo } from "./Store/BufferRepo.js"
import * as Database from "./Store/Database.js"
import { MemcellRepo } from "./Store/MemcellRepo.js"
import { Lexicon } from "./Text/Lexicon.js"
import { TokenCounter } from "./Text/TokenCounter.js"

/**
 * The boundary detector the configuration asks for: the LLM one when ENGRAM_LLM_BASE_URL and
 * ENGRAM_LLM_MODEL are set, otherwise the offline lexical segmenter.
 */
export const BoundaryDetectorLive = Layer.unwrapEffect(
  Effect.map(LlmSettingsConfig, (llm) =>
    Option.match(llm, {
      onNone: () => LocalBoundaryDetector.layer.pipe(Layer.provide(Lexicon.Default)),
      onSome: (settings) =>
        LlmBoundaryDetector.layerConfig.pipe(
          Layer.provide(OpenAiLlmClient.layer(settings)),
          Layer.provide(NodeHttpClient.layerUndici)
        )
    }))
)

/**
 * Everything memorize needs, from Config, on a given database layer. Host apps provide this (or
 * `EngramLive`) and use the `Memory` service.
 */
export const memoryLayer = <E, R>(database: Layer.Layer<Database.SqlLayerServices, E, R>) =>
  Memory.Default.pipe(
    Layer.provideMerge(Layer.mergeAll(BufferRepo.Default, MemcellRepo.Default)),
    Layer.provideMerge(Layer.mergeAll(BoundaryDetectorLive, SessionLock.layerConfig, TokenCounter.Default)),
    Layer.provideMerge(database)
  )

/** Memory on `$ENGRAM_DATA_DIR/engram.db`, with the idle flush running when configured. */
export const EngramLive = IdleFlusherLive.pipe(Layer.provideMerge(memoryLayer(Database.layerConfig)))
