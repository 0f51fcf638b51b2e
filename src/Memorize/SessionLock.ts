import { Clock, Duration, Effect, Layer, Option } from "effect"
import { MemorizeSettingsConfig } from "../Config/EngramConfig.js"
import type { StorageError } from "../Domain/Errors.js"
import { SessionLockTimeout } from "../Domain/Errors.js"
import { type SessionKey, sessionKeyString } from "../Domain/Message.js"
import { makeKeyedSemaphore } from "./KeyedSemaphore.js"

/**
 * What is left of the lock timeout for a section holding a session's permit. The section bounds
 * its steps that can take long (the boundary model call) by it, so waiting plus holding stays
 * within the timeout without a timer around the whole section.
 */
export interface PermitBudget {
  /**
   * Runs `step` within what is left of the lock timeout; past it, `step` is interrupted and this
   * fails with SessionLockTimeout (at once if nothing is left).
   */
  readonly within: <A, E, R>(step: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SessionLockTimeout, R>
}

/** No bound at all (the no-op lock has no timeout). */
const unboundedBudget: PermitBudget = { within: (step) => step }

/** The budget of a section whose lock timeout runs out at `deadline` (epoch ms on the Effect clock). */
const budgetUntil = (deadline: number, onTimeout: () => SessionLockTimeout): PermitBudget => ({
  within: (step) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      now >= deadline ? Effect.fail(onTimeout()) : Effect.timeoutFail(step, { duration: Duration.millis(deadline - now), onTimeout }))
})

export interface SessionLockShape {
  /**
   * Runs `section` holding the session's permit, within the lock timeout counted from the call:
   * - the permit is free (the usual case): `section` runs at once, with no timer around it; the
   *   `PermitBudget` it is handed bounds its long steps (the boundary model call), and its
   *   database statements are bounded by busy timeouts and their retries, so a commit is never
   *   cut short by the lock timeout;
   * - someone holds it: waiting plus `section` are bounded as a whole, as one timeout; on timeout
   *   the call is interrupted (a transaction it was in rolls back).
   * Either way the call fails with SessionLockTimeout past the timeout. StorageError: the
   * cross-node lease (SessionLease.ts) could not be read or written.
   */
  readonly withPermit: <A, E, R>(
    key: SessionKey,
    section: (budget: PermitBudget) => Effect.Effect<A, E, R>
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
 *
 * A free permit is taken with no timer and no extra fiber (the usual case: one agent per
 * session); only a caller that has to wait pays for a timeout (a fiber racing a sleep).
 */
export class SessionLock extends Effect.Tag("engram/SessionLock")<SessionLock, SessionLockShape>() {
  static readonly make = (timeout: Duration.DurationInput) =>
    Effect.gen(function*() {
      const semaphores = yield* makeKeyedSemaphore()
      const maxWait = Duration.decode(timeout)
      const timeoutMs = Duration.toMillis(maxWait)
      return SessionLock.of({
        withPermit: (key, section) =>
          Effect.flatMap(Clock.currentTimeMillis, (start) => {
            const onTimeout = () => new SessionLockTimeout({ session_id: key.session_id, timeout_ms: timeoutMs })
            const guarded = section(budgetUntil(start + timeoutMs, onTimeout))
            const sessionKey = sessionKeyString(key)
            return Effect.flatMap(semaphores.withFreePermit(sessionKey, guarded), Option.match({
              onSome: Effect.succeed,
              // Someone holds the session: the timeout bounds this caller's wait and section as a
              // whole (a timeout interrupts a permit it was being handed, which then goes back).
              onNone: () => Effect.timeoutFail(semaphores.withPermit(sessionKey, guarded), { duration: maxWait, onTimeout })
            }))
          }),
        activeKeys: semaphores.size
      })
    })

  static readonly layer = (timeout: Duration.DurationInput) => Layer.effect(SessionLock, SessionLock.make(timeout))

  static readonly layerConfig = Layer.unwrapEffect(
    Effect.map(MemorizeSettingsConfig, (settings) => SessionLock.layer(settings.lockTimeout))
  )

  /** No mutual exclusion and no timeout: only for tests that show the commit alone keeps the invariant. */
  static readonly noop = Layer.succeed(
    SessionLock,
    SessionLock.of({ withPermit: (_key, section) => section(unboundedBudget), activeKeys: Effect.succeed(0) })
  )
}
