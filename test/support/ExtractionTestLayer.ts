import { Layer } from "effect"
import { ExtractionWorkersLive } from "../../src/Extraction/ExtractionWorkers.js"
import { ExtractionPlan } from "../../src/Extraction/ExtractionPlan.js"
import { LlmMemcellExtractor } from "../../src/Extraction/LlmMemcellExtractor.js"
import { JobRunner } from "../../src/Extraction/JobRunner.js"
import { LlmExtractors } from "../../src/Extraction/LlmExtractors.js"
import { LocalExtractors } from "../../src/Extraction/LocalExtractors.js"
import { Lexicon } from "../../src/Text/Lexicon.js"
import { configLayer, memoryTestLayer, type MemoryTestOptions, textServices } from "./MemoryTestLayer.js"

export interface ExtractionTestOptions extends MemoryTestOptions {
  /**
   * "local" (default): the offline extractors; "llm": the LLM extractors over the fake model, one
   * job per kind; "llm-combined": one `memcell` job per memcell, one combined call.
   */
  readonly extractors?: "local" | "llm" | "llm-combined"
  /** Start the worker fibers (default true); false leaves jobs queued for the test to drive. */
  readonly workers?: boolean
}

/**
 * Memory plus the extraction runtime on the in-memory test database: the fake model answers
 * boundary prompts (and extraction prompts with `extractors: "llm"`); requests are told apart by
 * `request.purpose` ("boundary", "episode", "fact", "foresight").
 */
export const extractionTestLayer = (options: ExtractionTestOptions) => {
  const combined = options.extractors === "llm-combined"
  const memory = combined ? memoryTestLayer(options).pipe(Layer.provide(ExtractionPlan.combined)) : memoryTestLayer(options)
  const extractors = options.extractors === "llm"
    ? LlmExtractors.layer
    : combined
    ? Layer.merge(LlmExtractors.layer, LlmMemcellExtractor.layer)
    : LocalExtractors.layer.pipe(Layer.provide(Lexicon.Default))
  const runner = JobRunner.Default.pipe(Layer.provideMerge(extractors), Layer.provideMerge(memory))
  const all = options.workers === false ? runner : ExtractionWorkersLive.pipe(Layer.provideMerge(runner))
  return all.pipe(Layer.provide(textServices), Layer.provide(configLayer(options.env)))
}
