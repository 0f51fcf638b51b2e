import { Layer } from "effect"
import { memoryTestLayer, type MemoryTestOptions, textServices } from "./MemoryTestLayer.js"

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
 * `request.purpose` ("boundary", "episode", "fact", "foresight", "memcell").
 */
export const extractionTestLayer = (options: ExtractionTestOptions) =>
  memoryTestLayer({ ...options, extractors: options.extractors ?? "local", background: options.workers !== false }).pipe(
    Layer.provide(textServices)
  )
