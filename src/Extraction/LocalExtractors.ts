/**
 * The three offline extractors as one layer: the default when no LLM is configured. Each one's
 * method and limits are documented in its own module.
 */
import { Effect, Layer } from "effect"
import { MemorizeSettingsConfig } from "../Config/EngramConfig.js"
import type { ExtractorOptions } from "./Extractors.js"
import { LocalEpisodeExtractor } from "./LocalEpisodeExtractor.js"
import { LocalFactExtractor } from "./LocalFactExtractor.js"
import { LocalForesightExtractor } from "./LocalForesightExtractor.js"

export { LocalEpisodeExtractor } from "./LocalEpisodeExtractor.js"
export { LocalFactExtractor } from "./LocalFactExtractor.js"
export { LocalForesightExtractor } from "./LocalForesightExtractor.js"

const layerWith = (options: ExtractorOptions) =>
  Layer.mergeAll(
    LocalEpisodeExtractor.layerWith(options),
    LocalFactExtractor.layerWith(options),
    LocalForesightExtractor.layerWith(options)
  )

export const LocalExtractors = {
  /** All three, dates in UTC; needs `Lexicon`. */
  layer: layerWith({}),
  layerWith,
  /** All three, dates in ENGRAM_TIME_ZONE; needs `Lexicon`. */
  layerConfig: Layer.unwrapEffect(Effect.map(MemorizeSettingsConfig, (settings) => layerWith({ timeZone: settings.timeZone })))
} as const

/** `EpisodeExtractor | FactExtractor | ForesightExtractor`, offline, dates in ENGRAM_TIME_ZONE. */
export const LocalExtractorsLive = LocalExtractors.layerConfig
