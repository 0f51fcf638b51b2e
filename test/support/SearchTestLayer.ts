import type { SqlClient } from "@effect/sql"
import { Layer } from "effect"
import { ExtractionWorkersLive } from "../../src/Extraction/ExtractionWorkers.js"
import { JobRunner } from "../../src/Extraction/JobRunner.js"
import { LocalExtractors } from "../../src/Extraction/LocalExtractors.js"
import type { Embedder } from "../../src/Llm/Embedder.js"
import { EmbeddingIndexer } from "../../src/Indexing/EmbeddingIndexer.js"
import { Search } from "../../src/Search/Search.js"
import { SearchRepo } from "../../src/Search/SearchRepo.js"
import { VectorStore } from "../../src/Indexing/VectorStore.js"
import { Lexicon } from "../../src/Text/Lexicon.js"
import { TokenCounter } from "../../src/Text/TokenCounter.js"
import { boundaryAnswer, configLayer, memoryTestLayer } from "./MemoryTestLayer.js"

export interface SearchTestOptions {
  /** Defaults to a private in-memory database. */
  readonly database?: Layer.Layer<SqlClient.SqlClient>
  /** Start the extraction workers (default false: tests drive jobs themselves). */
  readonly workers?: boolean
  readonly env?: Record<string, string>
}

const searchDependencies = Layer.mergeAll(SearchRepo.Default, VectorStore.Default, Lexicon.Default)

/**
 * Memory (a fake model that never cuts until flush), the local extractors, the job runner and
 * Search on real SQLite, with `embedding` (nothing, or an embedder with its indexer) in between.
 */
const build = <A>(embedding: Layer.Layer<A, never, VectorStore | SearchRepo | SqlClient.SqlClient>, options: SearchTestOptions) => {
  const memory = memoryTestLayer({
    llm: () => boundaryAnswer([]),
    ...(options.database === undefined ? {} : { database: options.database }),
    ...(options.env === undefined ? {} : { env: options.env })
  })
  const core = Layer.mergeAll(Search.Default, JobRunner.Default).pipe(
    Layer.provideMerge(embedding),
    Layer.provideMerge(LocalExtractors.layer.pipe(Layer.provideMerge(Lexicon.Default))),
    Layer.provideMerge(searchDependencies),
    Layer.provideMerge(memory)
  )
  const all = options.workers === true ? ExtractionWorkersLive.pipe(Layer.provideMerge(core)) : core
  return all.pipe(Layer.provide(TokenCounter.Default), Layer.provide(configLayer(options.env)))
}

/** Search with no embedder: keyword only. */
export const keywordSearchTestLayer = (options: SearchTestOptions = {}) => build(Layer.empty, options)

/** Search with `embedder` and the embedding runtime (vector table, embed jobs). */
export const vectorSearchTestLayer = (embedder: Layer.Layer<Embedder>, options: SearchTestOptions = {}) =>
  build(EmbeddingIndexer.withEmbedder(embedder).pipe(Layer.orDie), options)
