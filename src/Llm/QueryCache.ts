import { Effect } from "effect"
import type { EmbedderUnavailable } from "./Embedder.js"

/** Recent queries kept: 1024 vectors of 512 floats are 2 MB. */
export const QUERY_CACHE_ENTRIES = 1024

/**
 * `embedQuery` over `embedOne` with a least-recently-used cache of `capacity` query vectors
 * (agents repeat questions, and one question is often searched for several users or speakers).
 * Keys are the exact query text; failures are not cached. The Map lives as long as its embedder.
 */
export const cachedQueries = (
  embedOne: (query: string) => Effect.Effect<Float32Array, EmbedderUnavailable>,
  capacity: number = QUERY_CACHE_ENTRIES
) =>
  Effect.sync(() => {
  // Insertion order is recency order: a hit is moved to the end, the first key is the eldest.
  const entries = new Map<string, Float32Array>()
  return (query: string): Effect.Effect<Float32Array, EmbedderUnavailable> =>
    Effect.suspend(() => {
      const cached = entries.get(query)
      if (cached !== undefined) {
        entries.delete(query)
        entries.set(query, cached)
        return Effect.succeed(cached)
      }
      return Effect.tap(embedOne(query), (vector) =>
        Effect.sync(() => {
          entries.set(query, vector)
          if (entries.size > capacity) entries.delete(entries.keys().next().value!)
        }))
    })
  })
