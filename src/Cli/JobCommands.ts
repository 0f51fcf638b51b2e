import { Args, Command, Options } from "@effect/cli"
import { Clock, Effect } from "effect"
import { EngramOnce } from "../Engram.js"
import { deadJobView } from "../Domain/Job.js"
import { JobQueue } from "../Jobs/JobQueue.js"
import { printJson } from "./Common.js"

const deadCommand = Command.make(
  "dead",
  { limit: Options.integer("limit").pipe(Options.withDefault(100), Options.withDescription("At most this many (newest first)")) },
  ({ limit }) =>
    Effect.gen(function*() {
      const jobs = yield* JobQueue
      const dead = yield* jobs.dead(Math.max(1, limit))
      yield* printJson(
        dead.map(deadJobView)
      )
    })
).pipe(Command.withDescription("List dead-lettered extraction jobs with their last error"))

const retryCommand = Command.make(
  "retry",
  { ids: Args.text({ name: "job-id" }).pipe(Args.repeated, Args.withDescription("Jobs to re-queue; all dead jobs when none")) },
  ({ ids }) =>
    Effect.gen(function*() {
      const jobs = yield* JobQueue
      const retried = yield* jobs.retryDead(ids.length > 0 ? ids : null, yield* Clock.currentTimeMillis)
      yield* printJson({ retried })
    })
).pipe(Command.withDescription("Re-queue dead extraction jobs with a fresh attempt budget"))

export const jobsCommand = Command.make("jobs").pipe(
  Command.withDescription("The extraction queue's dead letters"),
  Command.withSubcommands([deadCommand, retryCommand]),
  // The queue lives in the database; a running server's workers pick re-queued jobs up at their next poll.
  Command.provide(EngramOnce)
)
