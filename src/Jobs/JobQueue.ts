import { SqlClient } from "@effect/sql"
import { Data, Effect, Schema } from "effect"
import { Job, type JobStatus } from "../Domain/Job.js"
import type { SessionKey } from "../Domain/Message.js"
import { withBusyRetry } from "../Storage/Database.js"

/** Our lease on a job was taken over (it expired and another worker claimed it): drop our result. */
export class LeaseLost extends Data.TaggedError("LeaseLost")<{ readonly job_id: string }> {}

const Jobs = Schema.Array(Job)

export type JobCounts = Readonly<Record<JobStatus, number>>

/**
 * The durable extraction queue. Workers claim jobs with a lease (a unique owner token and a
 * deadline); a job whose lease expired (its process died) is claimable again. Backoff lives in
 * `run_after`, so a job waiting to retry holds no worker.
 */
export class JobQueue extends Effect.Service<JobQueue>()("engram/JobQueue", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decode = (rows: ReadonlyArray<unknown>) => Effect.orDie(Schema.decodeUnknown(Jobs)(rows))

    const claim = Effect.fn("JobQueue.claim")(function*(owner: string, now: number, leaseMs: number, limit: number) {
      const rows = yield* sql`
        UPDATE extraction_jobs
        SET status = 'running', lease_owner = ${owner}, lease_until = ${now + leaseMs},
            attempts = attempts + 1, updated_at = ${now}
        WHERE job_id IN (
          SELECT job_id FROM extraction_jobs
          WHERE (status = 'queued' AND run_after <= ${now}) OR (status = 'running' AND lease_until < ${now})
          ORDER BY run_after LIMIT ${limit})
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
        SET status = 'queued', attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_until = NULL,
            updated_at = ${now}
        WHERE job_id = ${job.job_id} AND lease_owner = ${job.lease_owner} AND status = 'running'`.pipe(
        withBusyRetry("release job")
      )
    })

    const counts = Effect.gen(function*() {
      const rows = yield* sql<{ status: JobStatus; n: number }>`
        SELECT status, COUNT(*) AS n FROM extraction_jobs GROUP BY status`.pipe(withBusyRetry("count jobs"))
      const result: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, dead: 0 }
      for (const row of rows) result[row.status] = row.n
      return result as JobCounts
    })

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
        SELECT COUNT(*) AS n FROM extraction_jobs
        WHERE app_id = ${key.app_id} AND project_id = ${key.project_id} AND session_id = ${key.session_id}
          AND status IN ('queued', 'running')`.pipe(withBusyRetry("count pending jobs"))
      return rows[0]?.n ?? 0
    })

    /** Queued jobs that already failed at least once (waiting for their retry). */
    const failedRetrying = sql<{ n: number }>`
      SELECT COUNT(*) AS n FROM extraction_jobs WHERE status = 'queued' AND attempts > 0`.pipe(
      Effect.map((rows) => rows[0]?.n ?? 0),
      withBusyRetry("count failed jobs")
    )

    return { claim, markDone, fail, release, counts, dead, retryDead, pendingForSession, failedRetrying } as const
  })
}) {}
