import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer, Schema } from "effect"
import { CapabilityUnavailable } from "../Domain/Errors.js"
import { type EmbeddingJobKind, JobStatus } from "../Domain/Job.js"
import { Embedder, EmbedderUnavailable } from "../Llm/Embedder.js"
import { withBusyRetry } from "../Storage/Database.js"
import { SearchRepo } from "../Search/SearchRepo.js"
import { type VectorKind, vectorOwner, VectorStore, vectorStateHint } from "./VectorStore.js"

const itemKindOf = (kind: EmbeddingJobKind): VectorKind => (kind === "embed_episodes" ? "episode" : "fact")

const StatusCounts = Schema.Array(Schema.Struct({ status: JobStatus, n: Schema.Number }))

export type EmbeddingProgress = Readonly<Record<typeof JobStatus.Type, number>>

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
    const repo = yield* SearchRepo
    const wanted = { model: embedder.model, dimensions: embedder.dimensions }

    const startup = yield* vectors.prepare(wanted)
    if (startup._tag !== "Ready") {
      yield* Effect.logWarning(`vector search unavailable: ${vectorStateHint(startup, wanted)}`)
    }

    /**
     * Outside any transaction: embeds the current episodes or facts of a memcell. Returns the
     * write for the job's result transaction, which re-checks the model (a reembed may have run
     * meanwhile) and also purges vectors of items that went away.
     */
    const prepareJob = Effect.fn("EmbeddingIndexer.prepareJob")(function*(kind: EmbeddingJobKind, memcellId: string) {
      const itemKind = itemKindOf(kind)
      const items = yield* repo.embeddableItems(itemKind, memcellId)
      const embedded = items.length === 0 ? [] : yield* embedder.embed(items.map((item) => item.text))
      if (embedded.length !== items.length || embedded.some((v) => v.length !== wanted.dimensions)) {
        return yield* new EmbedderUnavailable({
          reason: `expected ${items.length} vectors of ${wanted.dimensions} dimensions`,
          retryable: false
        })
      }
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
        yield* vectors.purgeGarbage(wanted.dimensions)
      })
    })

    /**
     * Drops every vector, records the configured model, and queues an embedding job for every
     * memcell with episodes or facts, all in one transaction. The extraction workers (of this
     * process or any other on the database) do the embedding; returns how many jobs were queued.
     */
    const reembedAll = Effect.fn("EmbeddingIndexer.reembedAll")(function*() {
      const now = yield* Clock.currentTimeMillis
      const reset = Effect.gen(function*() {
        yield* vectors.reset(wanted)
        // Job ids as `jobIdOf(kind, memcell_id)` builds them.
        const queued = yield* sql<{ job_id: string }>`
          INSERT INTO extraction_jobs (job_id, kind, memcell_id, app_id, project_id, session_id, status, attempts, run_after,
                                       created_at, updated_at)
          SELECT 'job_' || k.kind || '_' || m.memcell_id, k.kind, m.memcell_id, m.app_id, m.project_id, m.session_id,
                 'queued', 0, ${now}, ${now}, ${now}
          FROM memcells m JOIN (SELECT 'embed_episodes' AS kind UNION ALL SELECT 'embed_facts' AS kind) k
          WHERE (k.kind = 'embed_episodes' AND EXISTS (SELECT 1 FROM episodes e WHERE e.memcell_id = m.memcell_id))
             OR (k.kind = 'embed_facts' AND EXISTS (SELECT 1 FROM atomic_facts f WHERE f.memcell_id = m.memcell_id))
          ON CONFLICT (job_id) DO UPDATE SET status = 'queued', attempts = 0, run_after = excluded.run_after,
            lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = excluded.updated_at
          RETURNING job_id`
        return queued.length
      })
      return yield* sql.withTransaction(reset).pipe(withBusyRetry("reset vectors"))
    })

    /** Embedding jobs by status (any process's). */
    const progress = Effect.gen(function*() {
      const rows = yield* sql`
        SELECT status, COUNT(*) AS n FROM extraction_jobs WHERE kind IN ('embed_episodes', 'embed_facts')
        GROUP BY status`.pipe(withBusyRetry("count embedding jobs"))
      const counts: Record<typeof JobStatus.Type, number> = { queued: 0, running: 0, done: 0, dead: 0 }
      for (const row of yield* Schema.decodeUnknown(StatusCounts)(rows).pipe(Effect.orDie)) counts[row.status] = row.n
      return counts as EmbeddingProgress
    })

    return { model: wanted.model, dimensions: wanted.dimensions, prepareJob, reembedAll, progress } as const
  })
}) {
  /** The indexer over `embedder`, exposing the Embedder too (Search reads it for query vectors). */
  static readonly withEmbedder = <E, R>(embedder: Layer.Layer<Embedder, E, R>) =>
    EmbeddingIndexer.Default.pipe(Layer.provideMerge(embedder))
}
