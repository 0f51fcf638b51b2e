import { Duration, Effect, Fiber, Layer, Schedule } from "effect"
import { randomUUID } from "node:crypto"
import * as Os from "node:os"
import { MemorizeSettingsConfig } from "../Config/EngramConfig.js"
import type { SessionKey } from "../Domain/Message.js"
import { SessionLeaseRepo } from "./SessionLeaseRepo.js"
import { type PermitBudget, SessionLock } from "./SessionLock.js"

export interface SessionLeaseOptions {
  /**
   * Bound on waiting for a session, in this process and then for the lease, plus its boundary model
   * call (ENGRAM_LOCK_TIMEOUT), as for the in-process lock.
   */
  readonly timeout: Duration.DurationInput
  /** How long a lease outlives its last renewal (ENGRAM_SESSION_LEASE). */
  readonly ttl: Duration.DurationInput
  /** How often the holder renews; default a third of `ttl`. Tests make it longer than `ttl` to play a holder that stopped. */
  readonly renewEvery?: Duration.DurationInput
}

/**
 * Polling a held lease: quick at first (most holders finish within milliseconds), then at most
 * every 100 ms. Cheap: only the one fiber per node and session that holds the in-process lock polls.
 */
const waitSchedule = Schedule.exponential("5 millis", 1.5).pipe(
  Schedule.union(Schedule.spaced("100 millis")),
  Schedule.jittered
)

/**
 * `SessionLock` across nodes sharing a Postgres database: at most one node at a time runs a
 * session's read → boundary → commit section, so N nodes do not pay N boundary calls for the same
 * buffer. In front of the lease sits the in-process lock: the fibers of one node queue there
 * without a database round trip, and only the one holding it asks the database.
 *
 * The lease is a row (owner = this node's id, expiry on the database's clock) taken by an atomic
 * upsert, renewed by a fiber while the section runs, deleted at the end (also on interruption and
 * timeout). No transaction stays open across the section, in particular not across the LLM call.
 * A node that dies holding a lease blocks the session until it expires. A holder that stalls past
 * its expiry (a frozen process, a lost connection) may find another node in the same section: the
 * commit's compare-and-set is the fence there, so a message still lands in exactly one memcell;
 * what the overlap costs is one duplicate boundary call.
 */
export const makeSessionLease = (options: SessionLeaseOptions) =>
  Effect.gen(function*() {
    const local = yield* SessionLock.make(options.timeout)
    const repo = yield* SessionLeaseRepo
    const owner = `${Os.hostname()}/${process.pid}/${randomUUID()}`
    const ttlMs = Duration.toMillis(options.ttl)
    const renewEvery = options.renewEvery ?? Duration.millis(Math.max(1, Math.floor(ttlMs / 3)))

    /** Polls until the lease is ours; the section's budget bounds the wait. */
    const acquire = (key: SessionKey) =>
      repo.tryAcquire(key, owner, ttlMs).pipe(
        Effect.repeat({ schedule: waitSchedule, until: (acquired) => acquired }),
        Effect.asVoid
      )

    /** Renews until interrupted; once the lease is lost it stops and says so (the commit fences what follows). */
    const renewing = (key: SessionKey) =>
      Effect.sleep(renewEvery).pipe(
        Effect.zipRight(repo.renew(key, owner, ttlMs)),
        Effect.catchAll((error) => Effect.as(Effect.logWarning("session lease not renewed, trying again", error), true)),
        Effect.repeat({ while: (held) => held }),
        Effect.zipRight(
          Effect.logWarning("session lease lost to another node; the commit's compare-and-set decides").pipe(
            Effect.annotateLogs({ session_id: key.session_id })
          )
        )
      )

    /** Best effort and bounded: an undeleted lease only makes others wait until it expires. */
    const release = (key: SessionKey) =>
      repo.release(key, owner).pipe(
        Effect.timeout("5 seconds"),
        Effect.catchAll((error) => Effect.logWarning("session lease not released; it expires on its own", error))
      )

    const leased = <A, E, R>(key: SessionKey, budget: PermitBudget, section: (budget: PermitBudget) => Effect.Effect<A, E, R>) =>
      Effect.zipRight(
        budget.within(acquire(key)),
        // The renewer is forked where interruption is off (acquire): it must be interruptible itself.
        // The section gets what is left of the budget after waiting for the lease.
        Effect.acquireUseRelease(Effect.fork(Effect.interruptible(renewing(key))), () => section(budget), Fiber.interrupt)
      ).pipe(
        // Also when interrupted while waiting or mid-acquire: the upsert may have taken the lease. No
        // other fiber of this node can hold it meanwhile (the in-process lock is ours).
        Effect.ensuring(release(key))
      )

    return SessionLock.of({
      withPermit: (key, section) => local.withPermit(key, (budget) => leased(key, budget, section)),
      activeKeys: local.activeKeys
    })
  })

const layer = (options: SessionLeaseOptions) =>
  Layer.effect(SessionLock, makeSessionLease(options)).pipe(Layer.provide(SessionLeaseRepo.Default))

export const SessionLease = {
  layer,
  /** ENGRAM_LOCK_TIMEOUT and ENGRAM_SESSION_LEASE. */
  layerConfig: Layer.unwrapEffect(
    Effect.map(MemorizeSettingsConfig, (settings) => layer({ timeout: settings.lockTimeout, ttl: settings.sessionLease }))
  )
}
