import { Effect, Layer } from "effect"
import { MemorizeSettingsConfig } from "../Config/EngramConfig.js"
import type { ExtractorOptions } from "./Extractors.js"
import type { MemcellInput } from "./Extractors.js"

/**
 * The three ways every extractor family is built: `layer` (dates in UTC), `layerWith` (explicit
 * options, for tests and benchmarks) and `layerConfig` (dates in ENGRAM_TIME_ZONE).
 */
export const extractorLayers = <ROut, E, RIn>(layerWith: (options: ExtractorOptions) => Layer.Layer<ROut, E, RIn>) =>
  ({
    layer: layerWith({}),
    layerWith,
    layerConfig: Layer.unwrapEffect(Effect.map(MemorizeSettingsConfig, (settings) => layerWith({ timeZone: settings.timeZone })))
  }) as const

/** The span attributes every extraction carries: which memcell, how many messages, plus `extra`. */
export const annotateExtraction = (input: MemcellInput, extra: Record<string, string | number>) =>
  Effect.annotateCurrentSpan({
    "engram.memcell_id": input.memcell.memcell_id,
    "engram.messages": input.messages.length,
    ...extra
  })
