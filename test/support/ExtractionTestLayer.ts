import { Layer } from "effect"
import { memoryTestLayer, type MemoryTestOptions, textServices } from "./MemoryTestLayer.js"

export interface ExtractionTestOptions extends MemoryTestOptions {
  /** "local" (default): the offline extractors; "llm": the LLM extractors over the fake model. */
  readonly extractors?: "local" | "llm"
  /** Start the worker fibers (default true); false leaves jobs queued for the test to drive. */
  readonly workers?: boolean
}

/**
 * Memory plus the extraction runtime on the in-memory test database: the fake model answers
 * boundary prompts (and extraction prompts with `extractors: "llm"`); requests are told apart by
 * `request.purpose` ("boundary", "episode", "fact", "foresight").
 */
export const extractionTestLayer = (options: ExtractionTestOptions) =>
  memoryTestLayer({ ...options, extractors: options.extractors ?? "local", background: options.workers !== false }).pipe(
    Layer.provide(textServices)
  )
