import { Effect } from "effect"
import { monitorEventLoopDelay } from "node:perf_hooks"

/**
 * Lets timers and I/O (other requests, `/health`, SIGTERM) run before continuing. `Effect.yieldNow`
 * only reaches the microtask queue; long CPU work yields with this between slices. Independent
 * of `Clock`, so it also proceeds under `TestClock`.
 */
export const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** Event-loop delay statistics in seconds, over the interval since the previous reading. */
export interface EventLoopDelay {
  readonly max: number
  readonly p50: number
  readonly p99: number
}

/**
 * Samples event-loop delay (node:perf_hooks, 10 ms resolution) for the layer's lifetime. `read`
 * answers the statistics since the previous `read` and starts a new interval, so a scrape shows
 * the worst stall since the scrape before.
 */
export class EventLoopMonitor extends Effect.Service<EventLoopMonitor>()("engram/EventLoopMonitor", {
  scoped: Effect.gen(function*() {
    const histogram = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const h = monitorEventLoopDelay({ resolution: 10 })
        h.enable()
        return h
      }),
      (h) => Effect.sync(() => h.disable())
    )
    const seconds = (nanoseconds: number) => (Number.isFinite(nanoseconds) ? nanoseconds / 1e9 : 0)
    const read = Effect.sync((): EventLoopDelay => {
      const reading = histogram.count === 0
        ? { max: 0, p50: 0, p99: 0 }
        : { max: seconds(histogram.max), p50: seconds(histogram.percentile(50)), p99: seconds(histogram.percentile(99)) }
      histogram.reset()
      return reading
    })
    return { read } as const
  })
}) {}
