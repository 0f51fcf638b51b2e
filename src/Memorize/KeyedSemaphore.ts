import { Deferred, type Duration, Effect, Exit, FiberId } from "effect"

/**
 * One permit per key, handed over first come, first served. A key's entry exists only while its
 * permit is held (its queue of waiters with it), so the map does not grow with every key ever seen.
 *
 * Built on a plain Map rather than `Effect.makeSemaphore` in an RcMap: taking a free permit is then
 * a map lookup (no scope, no reference count, no fiber), which matters on the memorize hot path,
 * and a waiter that gives up can tell, from the queue alone, whether the permit was handed to it
 * meanwhile (it then passes it on), so a timeout can never leak the permit.
 */
export interface KeyedSemaphore {
  /** Runs `effect` holding `key`'s permit, waiting as long as it takes. */
  readonly withPermit: <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * Runs `effect` holding `key`'s permit if it comes within `maxWait`; fails with `onTimeout()`
   * (and `effect` never runs) if it does not. Only the wait is bounded: once `effect` runs, it
   * runs to its end.
   */
  readonly withPermitWaitingAtMost: <A, E, R, T>(
    key: string,
    wait: { readonly maxWait: Duration.Duration; readonly onTimeout: () => T },
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | T, R>
  /** Keys whose permit is held now (for tests and metrics). */
  readonly size: Effect.Effect<number>
}

/** The holder is implicit (whoever was let in); `waiters` queue behind it in arrival order. */
interface HeldPermit {
  readonly waiters: Array<Deferred.Deferred<void>>
}

export const makeKeyedSemaphore = (): Effect.Effect<KeyedSemaphore> =>
  Effect.sync(() => {
    const held = new Map<string, HeldPermit>()

    /** Hands the permit to the first waiter, or frees the key when nobody waits. */
    const releaseUnsafe = (key: string) => {
      const permit = held.get(key)!
      const next = permit.waiters.shift()
      if (next === undefined) held.delete(key)
      else Deferred.unsafeDone(next, Exit.void)
    }
    const release = (key: string) => Effect.sync(() => releaseUnsafe(key))

    /** A waiter that stopped waiting: out of the queue, or, if the permit reached it meanwhile, passes it on. */
    const abandon = (key: string, waiter: Deferred.Deferred<void>) =>
      Effect.sync(() => {
        const waiters = held.get(key)!.waiters
        const position = waiters.indexOf(waiter)
        if (position >= 0) waiters.splice(position, 1)
        else releaseUnsafe(key)
      })

    const run = <A, E, R, T = never>(
      key: string,
      wait: { readonly maxWait: Duration.Duration; readonly onTimeout: () => T } | undefined,
      effect: Effect.Effect<A, E, R>
    ) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend((): Effect.Effect<A, E | T, R> => {
          const permit = held.get(key)
          if (permit === undefined) {
            held.set(key, { waiters: [] })
            return Effect.ensuring(restore(effect), release(key))
          }
          const waiter = Deferred.unsafeMake<void>(FiberId.none)
          permit.waiters.push(waiter)
          const handed: Effect.Effect<void, T> = wait === undefined
            ? Deferred.await(waiter)
            : Effect.timeoutFail(Deferred.await(waiter), { duration: wait.maxWait, onTimeout: wait.onTimeout })
          return Effect.flatMap(Effect.exit(restore(handed)), (exit): Effect.Effect<A, E | T, R> =>
            Exit.isSuccess(exit)
              ? Effect.ensuring(restore(effect), release(key))
              // Timed out, or interrupted while waiting: the failure goes on after the clean-up.
              : Effect.zipRight(abandon(key, waiter), Effect.failCause(exit.cause)))
        })
      )

    return {
      withPermit: <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) => run(key, undefined, effect),
      withPermitWaitingAtMost: run,
      size: Effect.sync(() => held.size)
    }
  })
