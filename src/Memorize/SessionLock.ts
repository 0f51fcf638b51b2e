import { Duration, Effect, Layer } from "effect"
import { MemorizeSettingsConfig } from "../Config/EngramConfig.js"
import type { StorageError } from "../Domain/Errors.js"
import { SessionLockTimeout } from "../Domain/Errors.js"
import { type SessionKey, sessionKeyString } from "../Domain/Message.js"
import { makeKeyedSemaphore } from "./KeyedSemaphore.js"

export interface SessionLockShape {
  /**
   * Runs `effect` holding the session's permit. Waiting plus holding is bounded by the lock
   * timeout; on timeout the effect is interrupted (its transaction, if any, rolls back) and the
   * call fails with SessionLockTimeout. StorageError: the cross-node lease (SessionLease.ts) could
   * not be read or written.
   */
  readonly withPermit: <A, E, R>(
    key: SessionKey,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | SessionLockTimeout | StorageError, R>
  readonly activeKeys: Effect.Effect<number>
}

/**
 * Serialises the read → boundary → commit section per session so the detector is never asked
 * twice about the same messages. Correctness does not depend on it (the commit is a
 * compare-and-set); the `noop` layer exists to prove that.
 *
 * This implementation holds within one process, which is all SQLite needs (one database file,
 * one writer machine). On Postgres, where several nodes share the database, the composition root
 * layers the cross-node lease on it instead (SessionLease.ts).
 */
export class SessionLock extends Effect.Tag("engram/SessionLock")<SessionLock, SessionLockShape>() {
  static readonly make = (timeout: Duration.DurationInput) =>
    Effect.gen(function*() {
      const semaphores = yield* makeKeyedSemaphore()
      const timeoutMs = Duration.toMillis(timeout)
      return SessionLock.of({
        withPermit: (key, effect) =>
          semaphores.withPermit(sessionKeyString(key), effect).pipe(
            Effect.timeoutFail({
              duration: timeout,
              onTimeout: () => new SessionLockTimeout({ session_id: key.session_id, timeout_ms: timeoutMs })
            })
          ),
        activeKeys: semaphores.size
      })
    })

  static readonly layer = (timeout: Duration.DurationInput) => Layer.scoped(SessionLock, SessionLock.make(timeout))

  static readonly layerConfig = Layer.unwrapEffect(
    Effect.map(MemorizeSettingsConfig, (settings) => SessionLock.layer(settings.lockTimeout))
  )

  /** No mutual exclusion at all: only for tests that show the commit alone keeps the invariant. */
  static readonly noop = Layer.succeed(SessionLock, SessionLock.of({ withPermit: (_key, effect) => effect, activeKeys: Effect.succeed(0) }))
}
