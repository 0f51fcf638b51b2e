import { SqlClient } from "@effect/sql"
import { Array as Arr, Data, Effect, Schema } from "effect"
import { EmbeddingJobKind, Job, type JobKind, jobIdOf, JobStatus, MEMCELL_EXTRACTION_KINDS, type TrackJobKind } from "../Domain/Job.js"
import type { SessionKey } from "../Domain/Message.js"
import { withBusyRetry } from "../Storage/Database.js"
import { forUpdateSkipLocked, greatest, unindexed } from "../Storage/Dialect.js"

/** Our lease on a job was taken over (it expired and another worker claimed it): drop our result. */
export class LeaseLost extends Data.TaggedError("LeaseLost")<{ readonly job_id: string }> {}

const Jobs = Schema.Array(Job)

export type JobCounts = Readonly<Record<JobStatus, number>>

const StatusCounts = Schema.Array(Schema.Struct({ status: JobStatus, n: Schema.Number }))

/** The memcell a job derives from, with its scope (what every job row repeats). */
export interface JobSource {
  readonly memcell_id: string
  readonly app_id: string
  readonly project_id: string
  readonly session_id: string
}

const EmbeddingSources = Schema.Array(Schema.Struct({
  kind: EmbeddingJobKind,
  memcell_id: Schema.String,
  app_id: Schema.String,
  project_id: Schema.String,
  session_id: Schema.String
}))

/** Rows per multi-row INSERT: far below SQLite's bound-parameter limit. */
const INSERT_CHUNK = 500

/**
 * The durable extraction queue. Workers claim jobs with a lease (a unique owner token and a
 * deadline); a job whose lease expired (its process died) is claimable again. Backoff lives in
 * `run_after`, so a job waiting to retry holds no worker.
 *
 * The only writer of `extraction_jobs`: other stages enqueue (and forget) through it, inside their
 * own transaction, so a job and the rows it stands for are always written together.
 */
export class JobQueue extends Effect.Service<JobQueue>()("engram/JobQueue", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decode = (rows: ReadonlyArray<unknown>) => Effect.orDie(Schema.decodeUnknown(Jobs)(rows))

    const queuedRow = (kind: JobKind, source: JobSource, now: number) => ({
      job_id: jobIdOf(kind, source.memcell_id),
      kind,
      memcell_id: source.memcell_id,
      app_id: source.app_id,
      project_id: source.project_id,
      session_id: source.session_id,
      status: "queued",
      attempts: 0,
      run_after: now,
      created_at: now,
      updated_at: now
    })

    /**
     * Inside the memcell commit (the outbox): a memcell never exists without its extraction jobs.
     * A plain INSERT: the memcell is new, so are its jobs.
     */
    const enqueueExtraction = (source: JobSource, kinds: ReadonlyArray<JobKind>, now: number) =>
      sql`INSERT INTO extraction_jobs ${sql.insert(kinds.map((kind) => queuedRow(kind, source, now)))}`

    /** Queues `rows`; a job already there (any status) starts over, and a running one loses its lease. */
    const requeue = (rows: ReadonlyArray<ReturnType<typeof queuedRow>>) =>
      sql`INSERT INTO extraction_jobs ${sql.insert(rows)}
        ON CONFLICT (job_id) DO UPDATE SET status = 'queued', attempts = 0, run_after = excluded.run_after,
          lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = excluded.updated_at`

    /**
     * Inside the transaction that wrote a memcell's episodes or facts: (re)queues the job that
     * embeds exactly those rows (a running one loses its lease, so its now-stale vectors never land).
     */
    const requestEmbedding = (kind: EmbeddingJobKind, source: JobSource, now: number) =>
      requeue([queuedRow(kind, source, now)])

    /**
     * Inside a job's result transaction (after its own `markDone`): whether every extraction job of
     * the memcell is done, i.e. this transaction finishes the memcell's extraction.
     */
    const extractionDone = (memcellId: string) =>
      Effect.map(
        sql<{ n: number }>`SELECT COUNT(*) AS n FROM extraction_jobs
          WHERE memcell_id = ${memcellId} AND ${sql.in("kind", MEMCELL_EXTRACTION_KINDS)} AND status <> 'done'`,
        (rows) => (rows[0]?.n ?? 0) === 0
      )

    /**
     * Inside the transaction that finishes a memcell's extraction: the tracks' jobs. A job already
     * there (the extraction re-ran) is left alone, so each track sees a memcell exactly once.
     */
    const enqueueTracks = (kinds: ReadonlyArray<TrackJobKind>, source: JobSource, now: number) =>
      kinds.length === 0
        ? Effect.void
        : sql`INSERT INTO extraction_jobs ${sql.insert(kinds.map((kind) => queuedRow(kind, source, now)))}
            ON CONFLICT (job_id) DO NOTHING`.pipe(Effect.asVoid)

    /**
     * Inside the reembed transaction: an embedding job for every memcell with episodes or facts.
     * Returns how many were queued.
     */
    const requestAllEmbeddings = (now: number) =>
      Effect.gen(function*() {
        const sources = yield* sql`
          SELECT k.kind AS kind, m.memcell_id, m.app_id, m.project_id, m.session_id
          FROM memcells m CROSS JOIN (SELECT 'embed_episodes' AS kind UNION ALL SELECT 'embed_facts' AS kind) k
          WHERE (k.kind = 'embed_episodes' AND EXISTS (SELECT 1 FROM episodes e WHERE e.memcell_id = m.memcell_id))
             OR (k.kind = 'embed_facts' AND EXISTS (SELECT 1 FROM atomic_facts f WHERE f.memcell_id = m.memcell_id))`.pipe(
          Effect.flatMap((rows) => Effect.orDie(Schema.decodeUnknown(EmbeddingSources)(rows)))
        )
        for (const chunk of Arr.chunksOf(sources, INSERT_CHUNK)) {
          yield* requeue(chunk.map((source) => queuedRow(source.kind, source, now)))
        }
        return sources.length
      })

    /**
     * Inside a delete's transaction: the jobs of these memcells (ids already in the scope; the
     * scope terms stay as a guard, their unary `+` keeps SQLite on the memcell_id index). Returns
     * how many rows it removed.
     */
    const forgetMemcells = (scope: { readonly app_id: string; readonly project_id: string }, memcellIds: ReadonlyArray<string>) =>
      Effect.map(
        sql<{ job_id: string }>`DELETE FROM extraction_jobs
          WHERE ${unindexed(sql, "app_id")} = ${scope.app_id} AND ${unindexed(sql, "project_id")} = ${scope.project_id}
            AND ${sql.in("memcell_id", memcellIds)}
          RETURNING job_id`,
        (rows) => rows.length
      )

    const claim = Effect.fn("JobQueue.claim")(function*(owner: string, now: number, leaseMs: number, limit: number) {
      const rows = yield* sql`
        UPDATE extraction_jobs
        SET status = 'running', lease_owner = ${owner}, lease_until = ${now + leaseMs},
            attempts = attempts + 1, updated_at = ${now}
        WHERE job_id IN (
          SELECT job_id FROM extraction_jobs
          WHERE (status = 'queued' AND run_after <= ${now}) OR (status = 'running' AND lease_until < ${now})
          ORDER BY run_after LIMIT ${limit} ${forUpdateSkipLocked(sql)})
        RETURNING *`.pipe(withBusyRetry("claim jobs"))
      return yield* decode(rows)
    })

    /** Inside the job's result transaction: fails with LeaseLost (rolling the result back) if we no longer own it. */
    const markDone = (job: Job, now: number) =>
      Effect.gen(function*() {
        const rows = yield* sql`
          UPDATE extraction_jobs SET status = 'done', lease_owner = NULL, lease_until = NULL, last_error = NULL,
                 updated_at = ${now}
          WHERE job_id = ${job.job_id} AND lease_owner = ${job.lease_owner} AND status = 'running'
          RETURNING job_id`
        if (rows.length === 0) return yield* new LeaseLost({ job_id: job.job_id })
      })

    /**
     * Extends our lease on a running job to `until`; false when the job is no longer ours (another
     * worker took it over after our lease expired, or a re-extraction queued it again).
     */
    const renew = Effect.fn("JobQueue.renew")(function*(job: Job, now: number, until: number) {
      const rows = yield* sql<{ job_id: string }>`
        UPDATE extraction_jobs SET lease_until = ${until}, updated_at = ${now}
        WHERE job_id = ${job.job_id} AND lease_owner = ${job.lease_owner} AND status = 'running'
        RETURNING job_id`.pipe(withBusyRetry("renew job lease"))
      return rows.length > 0
    })

    /** A failed attempt: back to the queue after `retryAt`, or dead once the attempts are spent. */
    const fail = Effect.fn("JobQueue.fail")(function*(job: Job, error: string, now: number, retryAt: number | null) {
      yield* sql`
        UPDATE extraction_jobs
        SET status = ${retryAt === null ? "dead" : "queued"}, run_after = ${retryAt ?? job.run_after},
            lease_owner = NULL, lease_until = NULL, last_error = ${error.slice(0, 2000)}, updated_at = ${now}
        WHERE job_id = ${job.job_id} AND lease_owner = ${job.lease_owner} AND status = 'running'`.pipe(
        withBusyRetry("fail job")
      )
    })

    /** Shutdown: hand a running job back untouched (the attempt does not count). */
    const release = Effect.fn("JobQueue.release")(function*(job: Job, now: number) {
      yield* sql`
        UPDATE extraction_jobs
        SET status = 'queued', attempts = ${greatest(sql, "attempts - 1", "0")}, lease_owner = NULL, lease_until = NULL,
            updated_at = ${now}
        WHERE job_id = ${job.job_id} AND lease_owner = ${job.lease_owner} AND status = 'running'`.pipe(
        withBusyRetry("release job")
      )
    })

    /** Jobs by status, of every kind or of `kinds` (any process's). */
    const countsOf = (kinds?: ReadonlyArray<JobKind>) =>
      Effect.gen(function*() {
        const rows = yield* (kinds === undefined
          ? sql`SELECT status, CAST(COUNT(*) AS INTEGER) AS n FROM extraction_jobs GROUP BY status`
          : sql`SELECT status, CAST(COUNT(*) AS INTEGER) AS n FROM extraction_jobs WHERE ${sql.in("kind", kinds)} GROUP BY status`).pipe(
          withBusyRetry("count jobs"),
          Effect.flatMap((found) => Effect.orDie(Schema.decodeUnknown(StatusCounts)(found)))
        )
        const result: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, dead: 0 }
        for (const row of rows) result[row.status] = row.n
        return result satisfies JobCounts
      })

    const counts = countsOf()

    /** Jobs that failed after every attempt, newest first. */
    const dead = Effect.fn("JobQueue.dead")(function*(limit: number) {
      const rows = yield* sql`
        SELECT * FROM extraction_jobs WHERE status = 'dead' ORDER BY updated_at DESC LIMIT ${limit}`.pipe(
        withBusyRetry("list dead jobs")
      )
      return yield* decode(rows)
    })

    /** Re-queues dead jobs (all, or the given ids) with a fresh attempt budget; returns how many. */
    const retryDead = Effect.fn("JobQueue.retryDead")(function*(jobIds: ReadonlyArray<string> | null, now: number) {
      const rows = yield* (jobIds === null
        ? sql`UPDATE extraction_jobs SET status = 'queued', attempts = 0, run_after = ${now}, updated_at = ${now}
              WHERE status = 'dead' RETURNING job_id`
        : sql`UPDATE extraction_jobs SET status = 'queued', attempts = 0, run_after = ${now}, updated_at = ${now}
              WHERE status = 'dead' AND ${sql.in("job_id", jobIds)} RETURNING job_id`).pipe(withBusyRetry("retry dead jobs"))
      return rows.length
    })

    /** Jobs of a session not yet finished (queued or running). */
    const pendingForSession = Effect.fn("JobQueue.pendingForSession")(function*(key: SessionKey) {
      const rows = yield* sql<{ n: number }>`
        SELECT CAST(COUNT(*) AS INTEGER) AS n FROM extraction_jobs
        WHERE app_id = ${key.app_id} AND project_id = ${key.project_id} AND session_id = ${key.session_id}
          AND status IN ('queued', 'running')`.pipe(withBusyRetry("count pending jobs"))
      return rows[0]?.n ?? 0
    })

    /** Queued jobs that already failed at least once (waiting for their retry). */
    const failedRetrying = sql<{ n: number }>`
      SELECT CAST(COUNT(*) AS INTEGER) AS n FROM extraction_jobs WHERE status = 'queued' AND attempts > 0`.pipe(
      Effect.map((rows) => rows[0]?.n ?? 0),
      withBusyRetry("count failed jobs")
    )

    return {
      enqueueExtraction,
      requestEmbedding,
      extractionDone,
      enqueueTracks,
      requestAllEmbeddings,
      forgetMemcells,
      claim,
      markDone,
      renew,
      fail,
      release,
      counts,
      countsOf,
      dead,
      retryDead,
      pendingForSession,
      failedRetrying
    } as const
  })
}) {}
