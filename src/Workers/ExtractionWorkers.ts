import { Cause, Clock, Duration, Effect, Layer, Random } from "effect"
import { randomUUID } from "node:crypto"
import { type ExtractionSettings, ExtractionSettingsConfig } from "../Config/EngramConfig.js"
import { messageOf } from "../Domain/Errors.js"
import type { Job } from "../Domain/Job.js"
import { JobQueue, LeaseLost } from "../Jobs/JobQueue.js"
import { ExtractionSignal } from "../Jobs/ExtractionSignal.js"
import { JobRunner } from "./JobRunner.js"

/**
 * Delay before retry `attempt` (1-based): exponential from `backoffBase`, capped at `backoffCap`,
 * with ±20% jitter so jobs that failed together do not retry together.
 */
export const retryDelay = (settings: ExtractionSettings, attempt: number) =>
  Effect.map(Random.nextRange(0.8, 1.2), (jitter) => {
    const exponential = Duration.toMillis(settings.backoffBase) * 2 ** Math.max(0, attempt - 1)
    return Math.round(Math.min(Duration.toMillis(settings.backoffCap), exponential) * jitter)
  })

const describe = (cause: Cause.Cause<unknown>): string => messageOf(Cause.squash(cause)) ?? Cause.pretty(cause)

/**
 * The extraction runtime: `concurrency` worker fibers, forked in this layer's scope. A worker
 * claims one job with a lease, runs it, and claims the next; with nothing to do it waits for a
 * commit signal or the poll interval (work another process enqueued). A failed job goes back to
 * the queue with its retry time (holding no worker while it waits) or, out of attempts, to the
 * dead letters. On shutdown a running job is handed back to the queue.
 */
export const ExtractionWorkersLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const settings = yield* ExtractionSettingsConfig
    const jobs = yield* JobQueue
    const runner = yield* JobRunner
    const signal = yield* ExtractionSignal
    const leaseMs = Duration.toMillis(settings.lease)

    const settle = (job: Job) => (cause: Cause.Cause<unknown>) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const error = describe(cause)
        const retryAt = job.attempts >= settings.maxAttempts ? null : now + (yield* retryDelay(settings, job.attempts))
        yield* jobs.fail(job, error, now, retryAt)
        yield* Effect.logWarning(retryAt === null ? "extraction job dead-lettered" : "extraction job failed; will retry").pipe(
          Effect.annotateLogs({ job_id: job.job_id, attempts: job.attempts, error })
        )
      })

    /**
     * While a job runs, its lease is renewed every third of the lease, so a run longer than the
     * lease (a slow model, retries) is not taken over by another worker that would pay for the
     * same answer. Fails with LeaseLost once the job is no longer ours, which stops the run: its
     * result could not land anyway (the result transaction checks the lease). A renewal that hits
     * a database error is tried again next time; the lease check in that transaction still fences.
     */
    const keepLease = (job: Job) =>
      Effect.gen(function*() {
        while (true) {
          yield* Effect.sleep(Duration.millis(Math.max(1, Math.floor(leaseMs / 3))))
          const now = yield* Clock.currentTimeMillis
          const ours = yield* jobs.renew(job, now, now + leaseMs).pipe(
            Effect.catchAll((error) => Effect.as(Effect.logWarning("extraction lease renewal failed", error), true))
          )
          if (!ours) return yield* new LeaseLost({ job_id: job.job_id })
        }
      })

    const runOne = (job: Job) =>
      Effect.raceFirst(runner.run(job), keepLease(job)).pipe(
        // Someone else owns the job now (our lease expired): their run counts, ours is dropped.
        Effect.catchTag("LeaseLost", () => Effect.logWarning("extraction lease lost").pipe(Effect.annotateLogs({ job_id: job.job_id }))),
        Effect.catchAllCause((cause) => (Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : settle(job)(cause))),
        Effect.onInterrupt(() => Effect.flatMap(Clock.currentTimeMillis, (now) => jobs.release(job, now)).pipe(Effect.ignore))
      )

    const idle = Effect.raceFirst(signal.next, Effect.sleep(settings.pollInterval))

    const step = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const claimed = yield* jobs.claim(randomUUID(), now, leaseMs, 1)
      const job = claimed[0]
      if (job === undefined) return yield* idle
      // Found work: another idle worker may find more.
      yield* signal.notify
      yield* runOne(job)
    })

    const worker = step.pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause)
          : Effect.logError("extraction worker step failed", cause).pipe(Effect.zipRight(Effect.sleep(settings.pollInterval)))
      ),
      Effect.forever
    )

    for (let i = 0; i < settings.concurrency; i++) {
      yield* Effect.forkScoped(worker.pipe(Effect.annotateLogs({ worker: i })))
    }
  })
)
