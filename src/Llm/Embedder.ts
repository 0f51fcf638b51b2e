import { Context, Schema } from "effect"
import type { Effect } from "effect"

/** The embeddings endpoint failed, or answered with something that is not one vector per text of the configured width. */
export class EmbedderUnavailable extends Schema.TaggedError<EmbedderUnavailable>()("EmbedderUnavailable", {
  reason: Schema.String,
  status: Schema.optional(Schema.Number),
  retryable: Schema.Boolean
}) {
  override get message() {
    return `embedder unavailable: ${this.reason}`
  }
}

/**
 * A text embedding model. Several implementations (the bundled local model run in a worker
 * thread, the OpenAI-compatible HTTP client, the deterministic fake of tests and benchmarks),
 * hence a Tag. Optional in Engram: with ENGRAM_EMBEDDER=off no Embedder is provided, and
 * consumers read it with `Effect.serviceOption(Embedder)`.
 */
export class Embedder extends Context.Tag("engram/Embedder")<
  Embedder,
  {
    /** Recorded with the stored vectors: another model means re-embedding, never mixing. */
    readonly model: string
    /** Width of every vector; an answer of another width is an error. */
    readonly dimensions: number
    /** One unit-length-or-not vector per text, in order. */
    readonly embed: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Float32Array>, EmbedderUnavailable>
    /**
     * One search query's vector: served from a bounded cache of recent queries when it was asked
     * before, and put ahead of queued batch work where the implementation queues. Never mutate it.
     */
    readonly embedQuery: (query: string) => Effect.Effect<Float32Array, EmbedderUnavailable>
  }
>() {}
