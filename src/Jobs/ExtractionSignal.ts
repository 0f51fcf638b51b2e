import { PgClient } from "@effect/sql-pg"
import { Effect, Option, Queue, Schedule, Stream } from "effect"

/** The Postgres channel nodes sharing a database wake each other's workers on. */
const JOBS_CHANNEL = "engram_jobs"
/** Any non-empty text: PgClient.listen drops notifications with an empty payload. */
const JOBS_PAYLOAD = "queued"

/** Reconnecting the listener: backoff up to 30 s, and a limit (polling keeps working without it). */
const relistenSchedule = Schedule.exponential("500 millis").pipe(
  Schedule.union(Schedule.spaced("30 seconds")),
  Schedule.intersect(Schedule.recurs(1000))
)

/**
 * Wakes idle extraction workers as soon as memorize commits new jobs, so extraction starts at once
 * instead of at the next poll. A sliding queue of one: many commits coalesce into one wake-up.
 *
 * On Postgres the wake-up also crosses nodes: `notify` sends `pg_notify` (through the sql
 * template: PgClient.notify of @effect/sql-pg 0.53.0 sends invalid SQL) and every node LISTENs.
 * Only a hint: a lost notification costs one poll interval, never a job.
 */
export class ExtractionSignal extends Effect.Service<ExtractionSignal>()("engram/ExtractionSignal", {
  scoped: Effect.gen(function*() {
    const wakeups = yield* Queue.sliding<void>(1)
    const wakeLocal = Queue.offer(wakeups, undefined).pipe(Effect.asVoid)
    const pg = yield* Effect.serviceOption(PgClient.PgClient)
    if (Option.isSome(pg)) {
      yield* pg.value.listen(JOBS_CHANNEL).pipe(
        Stream.runForEach(() => wakeLocal),
        Effect.retry(relistenSchedule),
        Effect.catchAllCause((cause) => Effect.logWarning("job notifications off, workers poll", cause)),
        Effect.forkScoped
      )
    }
    const notify = Option.match(pg, {
      onNone: () => wakeLocal,
      onSome: (client) =>
        Effect.zipRight(
          wakeLocal,
          client`SELECT pg_notify(${JOBS_CHANNEL}, ${JOBS_PAYLOAD})`.pipe(
            Effect.timeout("5 seconds"),
            Effect.catchAllCause((cause) => Effect.logDebug("job notification not sent, other nodes poll", cause))
          )
        )
    })
    return {
      notify,
      /** Waits for the next notification (callers bound it with a poll interval). */
      next: Queue.take(wakeups)
    }
  })
}) {}
