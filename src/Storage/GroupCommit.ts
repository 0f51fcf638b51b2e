import { SqlClient, type SqlError } from "@effect/sql"
import { Cause, Chunk, Deferred, Effect, Exit, Option, Queue, Ref } from "effect"
import { GroupCommitMaxConfig } from "../Config/EngramConfig.js"
import type { StorageError } from "../Domain/Errors.js"
import { yieldToEventLoop } from "../Observability/EventLoop.js"
import { isBusy, isSqlError, withBusyRetry } from "./Database.js"

/** One caller's write as the writer fiber sees it (its types stay with the caller's closures). */
interface PendingWrite {
  /** Runs the write in its own savepoint; answers a busy error, which makes the whole batch retry. */
  readonly attempt: Effect.Effect<Option.Option<SqlError.SqlError>>
  /** The shared transaction committed: the caller gets its own outcome. */
  readonly settle: Effect.Effect<void>
  /** The shared transaction failed: every caller of the batch gets its failure. */
  readonly fail: (cause: Cause.Cause<StorageError>) => Effect.Effect<void>
  /** The caller stopped waiting before its write started (it was interrupted): skip it. */
  readonly abandoned: Effect.Effect<boolean>
}

/** What the writer has done since start: for /metrics-style reporting and for tests that prove writes share transactions. */
export interface GroupCommitStats {
  /** Shared transactions run (a retried batch counts once). */
  readonly batches: number
  /** Writes run in them (abandoned ones excluded). */
  readonly writes: number
  /** The most writes one transaction carried. */
  readonly largestBatch: number
}

/** Room in the queue per batch: callers beyond it wait to enqueue (backpressure, not memory). */
const QUEUED_BATCHES = 4

/**
 * Group commit: the writes of concurrent requests (ledger ingests, memorize commits) run in one
 * shared transaction through a single writer fiber, so N requests pay one BEGIN/COMMIT and one
 * fsync (`synchronous = FULL`) instead of N. Each write runs in its own savepoint: a write that
 * fails (a `MessageIdConflict`, a lost compare-and-set) rolls back alone and its caller gets its
 * own typed error while its batch-mates commit. A caller is answered only after the shared COMMIT
 * returned, so nothing is acknowledged before it is durable.
 *
 * Writes must be SQL only (never an LLM or HTTP call): they hold the transaction for their batch.
 * The queue is bounded (`QUEUED_BATCHES` batches of ENGRAM_GROUP_COMMIT_MAX writes).
 */
export class GroupCommit extends Effect.Service<GroupCommit>()("engram/GroupCommit", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const maxBatch = yield* GroupCommitMaxConfig.pipe(Effect.orDie)
    const queue = yield* Effect.acquireRelease(
      Queue.bounded<PendingWrite>(maxBatch * QUEUED_BATCHES),
      (queue) => Queue.shutdown(queue)
    )
    const stats = yield* Ref.make<GroupCommitStats>({ batches: 0, writes: 0, largestBatch: 0 })

    const runBatch = (batch: ReadonlyArray<PendingWrite>) =>
      Effect.gen(function*() {
        const live = yield* Effect.filter(batch, (write) => Effect.map(write.abandoned, (gone) => !gone))
        if (live.length === 0) return
        yield* Ref.update(stats, (s) => ({
          batches: s.batches + 1,
          writes: s.writes + live.length,
          largestBatch: Math.max(s.largestBatch, live.length)
        }))
        const attemptAll = Effect.gen(function*() {
          for (const write of live) {
            const busy = yield* write.attempt
            // A busy error leaves the shared transaction unable to write: retry the whole batch.
            if (Option.isSome(busy)) return yield* Effect.fail(busy.value)
          }
        })
        const outcome = yield* sql.withTransaction(attemptAll).pipe(withBusyRetry("group commit"), Effect.exit)
        yield* Exit.match(outcome, {
          onSuccess: () => Effect.forEach(live, (write) => write.settle, { discard: true }),
          onFailure: (cause) => Effect.forEach(live, (write) => write.fail(cause), { discard: true })
        })
      })

    /**
     * The first write, then whatever else arrives before the event loop has run once more. SQLite's
     * COMMIT (and its fsync) blocks the event loop, so the requests that came in meanwhile are
     * still unparsed when it returns: taking only what is queued at that moment gives batches of
     * one under load. One turn of the loop (setImmediate, after pending I/O) lets them reach the
     * queue first; an idle server pays that turn, tens of microseconds.
     */
    const nextBatch = Effect.gen(function*() {
      const first = yield* Queue.takeBetween(queue, 1, maxBatch)
      if (first.length >= maxBatch) return Chunk.toReadonlyArray(first)
      yield* yieldToEventLoop
      const more = yield* Queue.takeUpTo(queue, maxBatch - first.length)
      return [...first, ...more]
    })

    yield* nextBatch.pipe(
      Effect.flatMap(runBatch),
      Effect.forever,
      Effect.forkScoped
    )

    /**
     * Runs `write` in the next shared transaction and answers its own result. `operation` names
     * it in a StorageError. Interrupting the caller before its write started skips the write;
     * after, the write still commits (like a request whose reply was lost: retries are no-ops).
     */
    const run = <A, E>(
      operation: string,
      write: Effect.Effect<A, E | SqlError.SqlError>
    ): Effect.Effect<A, Exclude<E, SqlError.SqlError> | StorageError> =>
      Effect.gen(function*() {
        const done = yield* Deferred.make<A, Exclude<E, SqlError.SqlError> | StorageError>()
        let outcome: Exit.Exit<A, E | SqlError.SqlError> | undefined
        const pending: PendingWrite = {
          attempt: Effect.gen(function*() {
            const exit = yield* Effect.exit(sql.withTransaction(write))
            outcome = exit
            return busyFailure(exit)
          }),
          settle: Effect.suspend(() =>
            outcome === undefined
              ? Effect.void
              : Deferred.complete(done, withBusyRetry(operation)(outcome)).pipe(Effect.asVoid)
          ),
          fail: (cause) => Deferred.failCause(done, cause).pipe(Effect.asVoid),
          abandoned: Deferred.isDone(done)
        }
        yield* Queue.offer(queue, pending)
        return yield* Deferred.await(done).pipe(Effect.onInterrupt(() => Deferred.interrupt(done)))
      })

    return { run, stats: Ref.get(stats) } as const
  })
}) {}

const busyFailure = <A, E>(exit: Exit.Exit<A, E>): Option.Option<SqlError.SqlError> =>
  Exit.isFailure(exit)
    ? Option.flatMap(Cause.failureOption(exit.cause), (error) => isSqlError(error) && isBusy(error) ? Option.some(error) : Option.none())
    : Option.none()
