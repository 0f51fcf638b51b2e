import { Args, Command, Options } from "@effect/cli"
import { Console, Duration, Effect, Option, Schedule, Schema } from "effect"
import { CapabilityUnavailable } from "../Domain/Errors.js"
import { SearchRequest } from "../Domain/SearchRequest.js"
import { EngramLive, EngramOnce } from "../Engram.js"
import { ExtractionSignal } from "../Jobs/ExtractionSignal.js"
import { EmbeddingIndexer, type EmbeddingProgress } from "../Indexing/EmbeddingIndexer.js"
import { SearchEntry } from "../Search/SearchEntry.js"
import { appOption, decodeRequest, printJson, projectOption } from "./Common.js"

export const searchCommand = Command.make(
  "search",
  {
    user: Options.text("user").pipe(Options.withAlias("u"), Options.withDescription("User id whose memory to search"), Options.optional),
    agent: Options.text("agent").pipe(Options.withDescription("Agent id whose memory to search (instead of --user)"), Options.optional),
    method: Options.choice("method", ["keyword", "vector", "hybrid", "agentic"]).pipe(
      Options.withDescription("Default: hybrid when an embedder is configured, keyword otherwise"),
      Options.optional
    ),
    topK: Options.integer("top-k").pipe(Options.withDescription("Episodes to return: 1-100, or -1 for all (default 10)"), Options.optional),
    minScore: Options.float("min-score").pipe(Options.withDescription("Drop episodes scoring below this (0..1]"), Options.optional),
    maxTokens: Options.integer("max-tokens").pipe(
      Options.withDescription("Also pack the best evidence within this many tokens as `context` (1-32000)"),
      Options.optional
    ),
    session: Options.text("session").pipe(Options.withAlias("s"), Options.withDescription("Only this session"), Options.optional),
    app: appOption,
    project: projectOption,
    query: Args.text({ name: "query" }).pipe(Args.withDescription("What to look for"))
  },
  (options) =>
    Effect.gen(function*() {
      const search = yield* SearchEntry
      const some = <A>(key: string, value: Option.Option<A>) => Option.match(value, { onNone: () => ({}), onSome: (v) => ({ [key]: v }) })
      // The same schema as the HTTP contract, so both refuse the same input.
      const request = yield* decodeRequest(SearchRequest, {
        app_id: options.app,
        project_id: options.project,
        query: options.query,
        ...some("user_id", options.user),
        ...some("agent_id", options.agent),
        ...some("method", options.method),
        ...some("top_k", options.topK),
        ...some("min_score", options.minScore),
        ...some("max_tokens", options.maxTokens),
        ...some("filters", Option.map(options.session, (session_id) => ({ session_id })))
      })
      yield* printJson(yield* search.search(request))
    })
).pipe(
  Command.withDescription("Search a user's memory: episodes with matching facts and source message ids, plus buffered messages"),
  Command.provide(EngramOnce)
)

/** Re-embedding did not finish (in time, or some jobs failed for good). */
export class ReembedIncomplete extends Schema.TaggedError<ReembedIncomplete>()("ReembedIncomplete", { reason: Schema.String }) {
  override get message() {
    return this.reason
  }
}

const describeProgress = (p: EmbeddingProgress) => `${p.done} done, ${p.queued} queued, ${p.running} running, ${p.dead} dead`

export const reembedCommand = Command.make(
  "reembed",
  {
    timeout: Options.integer("timeout").pipe(
      Options.withDefault(3600),
      Options.withDescription("Seconds to wait for the embedding jobs; unfinished ones continue in any running `engram serve`")
    )
  },
  (options) =>
    Effect.gen(function*() {
      const indexer = yield* Effect.serviceOption(EmbeddingIndexer)
      if (Option.isNone(indexer)) {
        return yield* new CapabilityUnavailable({
          capability: "reembed",
          hint: "the embedder is off: unset ENGRAM_EMBEDDER for the local model, or set ENGRAM_EMBED_BASE_URL, ENGRAM_EMBED_MODEL and ENGRAM_EMBED_DIMENSIONS"
        })
      }
      const embedding = indexer.value
      const queued = yield* embedding.reembedAll()
      yield* (yield* ExtractionSignal).notify
      yield* Console.error(`re-embedding with '${embedding.model}' (${embedding.dimensions} dimensions): ${queued} jobs queued`)
      // This process's extraction workers (and those of any server on the same database) do the work.
      const finished = yield* embedding.progress.pipe(
        Effect.tap((p) => Console.error(describeProgress(p))),
        Effect.repeat({ schedule: Schedule.spaced("2 seconds"), until: (p) => p.queued + p.running === 0 }),
        Effect.timeoutTo({ duration: Duration.seconds(options.timeout), onTimeout: () => false, onSuccess: () => true })
      )
      const progress = yield* embedding.progress
      yield* printJson({ model: embedding.model, dimensions: embedding.dimensions, jobs: queued, complete: finished, ...progress })
      if (!finished || progress.dead > 0) {
        return yield* new ReembedIncomplete({
          reason: finished
            ? `${progress.dead} embedding jobs failed (see \`engram jobs\`)`
            : `not finished within ${options.timeout} s (${describeProgress(progress)}); the rest continues in any running engram`
        })
      }
    })
).pipe(
  Command.withDescription("Drop every vector and re-embed all episodes and facts with the configured embedder (ENGRAM_EMBEDDER)"),
  Command.provide(EngramLive)
)
