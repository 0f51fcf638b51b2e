import { SqlClient } from "@effect/sql"
import { Clock, Effect, Option } from "effect"
import { CapabilityUnavailable, type StorageError } from "../Domain/Errors.js"
import { EmbeddingJobKind } from "../Domain/Job.js"
import { type JobCounts, JobQueue } from "../Jobs/JobQueue.js"
import { Embedder, EmbedderUnavailable } from "../Llm/Embedder.js"
import { withBusyRetry } from "../Storage/Database.js"
import { embeddableItems } from "./EmbeddableItems.js"
import { PassageVectors } from "./PassageVectors.js"
import { type VectorKind, vectorOwner, VectorStore, vectorStateHint } from "./VectorStore.js"

const itemKindOf = (kind: EmbeddingJobKind): VectorKind => (kind === "embed_episodes" ? "episode" : "fact")

export type EmbeddingProgress = JobCounts

/**
 * The embedding runtime: runs `embed_*` jobs (read a memcell's episodes or facts, embed them with
 * no transaction open, hand back the write for the job's result transaction) and re-embeds
 * everything after a model change. Exists only when an embedder is configured; at startup it sets
 * up the vector table for the configured model or, if the stored vectors come from another model,
 * warns and refuses to write until `reembed`.
 */
export class EmbeddingIndexer extends Effect.Service<EmbeddingIndexer>()("engram/EmbeddingIndexer", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const embedder = yield* Embedder
    const vectors = yield* VectorStore
    const passageVectors = yield* PassageVectors
    const jobs = yield* JobQueue
    const wanted = { model: embedder.model, dimensions: embedder.dimensions }

    const startup = yield* vectors.prepare(wanted)
    if (startup._tag !== "Ready") {
      yield* Effect.logWarning(`vector search unavailable: ${vectorStateHint(startup, wanted)}`)
    }

    /**
     * Outside any transaction: embeds the current episodes (with their passage windows) or facts
     * of a memcell. Returns the write for the job's result transaction, which re-checks the model
     * (a reembed may have run meanwhile) and also purges vectors of items that went away.
     */
    const prepareJob = Effect.fn("EmbeddingIndexer.prepareJob")(function*(kind: EmbeddingJobKind, memcellId: string) {
      // The database cannot hold vectors at all (Postgres without pgvector): nothing to compute or
      // store, and the job is done rather than retried forever. `engram reembed` after the
      // extension arrives embeds everything.
      if (Option.isSome(vectors.extension)) return Effect.void
      const itemKind = itemKindOf(kind)
      const items = yield* embeddableItems(itemKind, memcellId)
      const windows = itemKind === "episode" ? yield* passageVectors.windowsOf(memcellId) : []
      // The speakers' episodes of one memcell share their windows: each distinct text is embedded once.
      const windowTexts = [...new Set(windows.map((w) => w.text))]
      const texts = [...items.map((item) => item.text), ...windowTexts]
      const embedded = texts.length === 0 ? [] : yield* embedder.embed(texts)
      if (embedded.length !== texts.length || embedded.some((v) => v.length !== wanted.dimensions)) {
        return yield* new EmbedderUnavailable({
          reason: `expected ${texts.length} vectors of ${wanted.dimensions} dimensions`,
          retryable: false
        })
      }
      const windowVector = new Map(windowTexts.map((text, i) => [text, embedded[items.length + i]!]))
      return Effect.gen(function*() {
        const current = yield* vectors.state(wanted)
        if (current._tag !== "Ready") {
          return yield* new CapabilityUnavailable({ capability: "embedding", hint: vectorStateHint(current, wanted) })
        }
        yield* vectors.replace(
          items.map((item, i) => ({
            item_key: item.item_key,
            owner: vectorOwner(item.app_id, item.project_id, item.owner, itemKind),
            vector: embedded[i]!
          })),
          wanted.dimensions
        )
        yield* passageVectors.replace(windows.map((w) => ({ passage_key: w.passage_key, vector: windowVector.get(w.text)! })))
        yield* vectors.purgeGarbage(wanted.dimensions)
      })
    })

    /**
     * Drops every vector, records the configured model, and queues an embedding job for every
     * memcell with episodes or facts, all in one transaction. The extraction workers (of this
     * process or any other on the database) do the embedding; returns how many jobs were queued.
     */
    const reembedAll = Effect.fn("EmbeddingIndexer.reembedAll")(function*() {
      if (Option.isSome(vectors.extension)) {
        return yield* new CapabilityUnavailable({ capability: "reembed", hint: vectors.extension.value })
      }
      const now = yield* Clock.currentTimeMillis
      const reset = Effect.gen(function*() {
        yield* vectors.reset(wanted)
        yield* passageVectors.clear
        return yield* jobs.requestAllEmbeddings(now)
      })
      return yield* sql.withTransaction(reset).pipe(withBusyRetry("reset vectors"))
    })

    /** Embedding jobs by status (any process's). */
    const progress: Effect.Effect<EmbeddingProgress, StorageError> = jobs.countsOf(EmbeddingJobKind.literals)

    return { model: wanted.model, dimensions: wanted.dimensions, prepareJob, reembedAll, progress } as const
  }),
  dependencies: [JobQueue.Default, PassageVectors.Default]
}) {}
