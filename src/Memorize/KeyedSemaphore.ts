import { Effect, Option } from "effect"

/**
 * One `Effect.makeSemaphore(1)` per key. A key's entry lives while someone holds or waits for its
 * permit, so the map does not grow with every key ever seen.
 *
 * The entries are reference-counted in a plain Map rather than an RcMap: taking a free permit is
 * then a map lookup and a counter (no scope, no idle timer, no fiber), which matters on the
 * memorize hot path, where nearly every add finds its session's permit free.
 */
export interface KeyedSemaphore {
  /** Runs `effect` holding `key`'s permit, waiting as long as it takes. */
  readonly withPermit: <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * Runs `effect` holding `key`'s permit if it is free now (Some of its result); None, without
   * running `effect` or waiting at all, if someone holds it.
   */
  readonly withFreePermit: <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<Option.Option<A>, E, R>
  /** Keys whose permit is held or awaited now (for tests and metrics). */
  readonly size: Effect.Effect<number>
}

interface Entry {
  readonly semaphore: Effect.Semaphore
  /** Fibers holding or waiting for the permit. */
  users: number
}

export const makeKeyedSemaphore = (): Effect.Effect<KeyedSemaphore> =>
  Effect.sync(() => {
    const entries = new Map<string, Entry>()

    /** Counts one more user of `key`'s entry, made with `Effect.makeSemaphore` if there is none. */
    const enter = (key: string): Effect.Effect<Entry> =>
      Effect.suspend(() => {
        const existing = entries.get(key)
        if (existing !== undefined) {
          existing.users++
          return Effect.succeed(existing)
        }
        return Effect.map(Effect.makeSemaphore(1), (semaphore) => {
          // Looked up again: another fiber may have made the entry while this one made its semaphore.
          const entry = entries.get(key) ?? { semaphore, users: 0 }
          entries.set(key, entry)
          entry.users++
          return entry
        })
      })

    const leave = (key: string, entry: Entry) =>
      Effect.sync(() => {
        entry.users--
        if (entry.users === 0) entries.delete(key)
      })

    /** `use` of `key`'s semaphore, the entry counted as used until `use` ends (however it ends). */
    const using = <A, E, R>(key: string, use: (semaphore: Effect.Semaphore) => Effect.Effect<A, E, R>) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(enter(key), (entry) => Effect.ensuring(restore(use(entry.semaphore)), leave(key, entry)))
      )

    return {
      withPermit: (key, effect) => using(key, (semaphore) => semaphore.withPermits(1)(effect)),
      withFreePermit: (key, effect) => using(key, (semaphore) => semaphore.withPermitsIfAvailable(1)(effect)),
      size: Effect.sync(() => entries.size)
    }
  })
