import { HttpApiBuilder } from "@effect/platform"
import { Clock, Effect } from "effect"
import { ExtractionSignal } from "../Jobs/ExtractionSignal.js"
import { deadJobView } from "../Domain/Job.js"
import { JobQueue } from "../Jobs/JobQueue.js"
import { EngramApi } from "./Api.js"
import { enveloped } from "./Middleware.js"

/** Handlers of the jobs group: the dead letters of the extraction queue. */
export const JobsHttpLive = HttpApiBuilder.group(EngramApi, "jobs", (handlers) =>
  Effect.gen(function*() {
    const jobs = yield* JobQueue
    const signal = yield* ExtractionSignal
    return handlers
      .handle("list", ({ urlParams }) =>
        enveloped(
          Effect.map(jobs.dead(urlParams.limit), (dead) => ({
            jobs: dead.map(deadJobView)
          }))
        ))
      .handle("retry", ({ payload }) =>
        enveloped(
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const retried = yield* jobs.retryDead(payload?.job_ids ?? null, now)
            // Wake idle workers now rather than at their next poll.
            if (retried > 0) yield* signal.notify
            return { retried }
          })
        ))
  })
)
