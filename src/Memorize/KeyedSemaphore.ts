import { Duration, Effect, RcMap, type Scope } from "effect"

/**
 * One `Effect.makeSemaphore(1)` per key, held in an RcMap: a key's semaphore exists while someone
 * holds or waits for it (plus a short idle grace), so the map does not grow with every key ever seen.
 */
export interface KeyedSemaphore {
  readonly withPermit: <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Keys currently alive in the map (for tests and metrics). */
  readonly size: Effect.Effect<number>
}

export const makeKeyedSemaphore = (
  idleTimeToLive: Duration.DurationInput = Duration.seconds(5)
): Effect.Effect<KeyedSemaphore, never, Scope.Scope> =>
  Effect.gen(function*() {
    const semaphores = yield* RcMap.make({
      lookup: (_key: string) => Effect.makeSemaphore(1),
      idleTimeToLive
    })
    return {
      withPermit: <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) =>
        Effect.scoped(Effect.flatMap(RcMap.get(semaphores, key), (semaphore) => semaphore.withPermits(1)(effect))),
      size: Effect.map(RcMap.keys(semaphores), (keys) => keys.length)
    }
  })
