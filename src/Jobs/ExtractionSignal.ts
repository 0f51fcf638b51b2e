import { Effect, Queue } from "effect"

/**
 * Wakes idle extraction workers as soon as memorize commits new jobs, so extraction starts at once
 * instead of at the next poll. A sliding queue of one: many commits coalesce into one wake-up.
 */
export class ExtractionSignal extends Effect.Service<ExtractionSignal>()("engram/ExtractionSignal", {
  effect: Effect.gen(function*() {
    const wakeups = yield* Queue.sliding<void>(1)
    return {
      notify: Queue.offer(wakeups, undefined).pipe(Effect.asVoid),
      /** Waits for the next notification (callers bound it with a poll interval). */
      next: Queue.take(wakeups)
    }
  })
}) {}
