/**
 * The three offline extractors as one layer: the default when no LLM is configured. Each one's
 * method and limits are documented in its own module.
 */
import { Layer } from "effect"
import { extractorLayers } from "./ExtractorLayers.js"
import { EpisodeExtractor, type ExtractorOptions, FactExtractor, ForesightExtractor } from "./Extractors.js"
import { makeLocalEpisodeExtractor } from "./LocalEpisodeExtractor.js"
import { makeLocalFactExtractor } from "./LocalFactExtractor.js"
import { makeLocalForesightExtractor } from "./LocalForesightExtractor.js"

/** All three; needs `Lexicon`. `layerConfig` shows and resolves dates in ENGRAM_TIME_ZONE, `layer` in UTC. */
export const LocalExtractors = extractorLayers((options: ExtractorOptions) =>
  Layer.mergeAll(
    Layer.effect(EpisodeExtractor, makeLocalEpisodeExtractor(options)),
    Layer.effect(FactExtractor, makeLocalFactExtractor(options)),
    Layer.effect(ForesightExtractor, makeLocalForesightExtractor(options))
  )
)
