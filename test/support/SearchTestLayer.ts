import type { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer, Option, Schema } from "effect"
import { SearchRequest, type SearchRequestInput } from "../../src/Domain/SearchRequest.js"
import { EmbeddingIndexer } from "../../src/Indexing/EmbeddingIndexer.js"
import { JobQueue } from "../../src/Jobs/JobQueue.js"
import { Search } from "../../src/Search/Search.js"
import { JobRunner } from "../../src/Workers/JobRunner.js"
import type { Embedder } from "../../src/Llm/Embedder.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "./MemoryTestLayer.js"

export interface SearchTestOptions {
  /** Defaults to a private in-memory database. */
  readonly database?: Layer.Layer<SqlClient.SqlClient>
  /** Start the extraction workers (default false: tests drive jobs themselves). */
  readonly workers?: boolean
  readonly env?: Record<string, string>
}

/**
 * The application with a fake model that never cuts until flush, the local extractors and Search
 * on real SQLite, with `embedder` (or none) behind the embedding runtime.
 */
const build = (embedder: Layer.Layer<Embedder> | undefined, options: SearchTestOptions) =>
  memoryTestLayer({
    llm: () => boundaryAnswer([]),
    extractors: "local",
    background: options.workers === true,
    ...(embedder === undefined ? {} : { embedder }),
    ...(options.database === undefined ? {} : { database: options.database }),
    ...(options.env === undefined ? {} : { env: options.env })
  }).pipe(Layer.provide(textServices))

/** Search with no embedder: keyword only. */
export const keywordSearchTestLayer = (options: SearchTestOptions = {}) => build(undefined, options)

/** Search with `embedder` and the embedding runtime (vector table, embed jobs). */
export const vectorSearchTestLayer = (embedder: Layer.Layer<Embedder>, options: SearchTestOptions = {}) => build(embedder, options)

/** The embedding runtime of a layer built with an embedder (the application reads it as optional). */
export const embeddingIndexer = Effect.flatMap(
  Effect.serviceOption(EmbeddingIndexer),
  Option.match({ onNone: () => Effect.dieMessage("this layer has no embedder"), onSome: Effect.succeed })
)

/** Runs every queued extraction job, as the workers would (for layers built without them). */
export const runQueuedJobs = Effect.gen(function*() {
  const jobs = yield* JobQueue
  const runner = yield* JobRunner
  for (;;) {
    const claimed = yield* jobs.claim("test", yield* Clock.currentTimeMillis, 30_000, 10)
    if (claimed.length === 0) return
    for (const job of claimed) yield* runner.run(job)
  }
})

/** A search as a caller writes it (defaults applied by the request schema). */
export const searchAs = (input: SearchRequestInput) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(SearchRequest)(input)), (request) => Effect.flatMap(Search, (s) => s.search(request)))
