import { Clock, Duration, Effect, Layer, Option, Schedule } from "effect"
import { MemorizeSettingsConfig } from "../Config/EngramConfig.js"
import { LedgerRepo } from "../Ledger/LedgerRepo.js"
import { Memory } from "./Memory.js"

/**
 * Flushes sessions whose buffered messages have seen no new arrival for `idleAfter`, so a
 * conversation that simply stops still becomes memory. One sweep flushes each idle session; a
 * failing session is logged and retried on the next sweep, never stopping the others.
 */
export const idleFlushSweep = (idleAfter: Duration.Duration) =>
  Effect.gen(function*() {
    const buffers = yield* LedgerRepo
    const memory = yield* Memory
    const now = yield* Clock.currentTimeMillis
    const sessions = yield* buffers.idleSessions(now - Duration.toMillis(idleAfter))
    yield* Effect.forEach(
      sessions,
      (key) =>
        memory.flush(key).pipe(
          Effect.catchAll((error) =>
            Effect.logWarning("idle flush failed; will retry on the next sweep").pipe(
              Effect.annotateLogs({ session_id: key.session_id, error: error.message })
            )
          )
        ),
      { discard: true }
    )
    return sessions.length
  }).pipe(Effect.withSpan("IdleFlusher.sweep"))

/** Background fiber, scoped to the layer; does nothing when ENGRAM_IDLE_FLUSH_AFTER is unset. */
export const IdleFlusherLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const settings = yield* MemorizeSettingsConfig
    if (Option.isNone(settings.idleFlushAfter)) return
    const idleAfter = settings.idleFlushAfter.value
    yield* idleFlushSweep(idleAfter).pipe(
      Effect.catchAllCause((cause) => Effect.logError("idle flush sweep failed", cause)),
      Effect.repeat(Schedule.spaced(settings.idleFlushInterval)),
      Effect.forkScoped
    )
  })
)
