import { Clock, Data, Deferred, Duration, Effect, Exit, Runtime, Schema } from "effect"
import type { Worker } from "node:worker_threads"
import { siblingEntry, spawnThread } from "../Llm/WorkerThread.js"
import type { Neighbour } from "./VectorStore.js"
import { ReaderAnswer, type ReaderRequest } from "./VectorReaderProtocol.js"

/**
 * SqliteVectorStore's nearest-neighbour reads off the event loop: a pool of `READER_THREADS`
 * worker threads (VectorReaderWorker.ts), each with its own read-only connection to the database
 * file, answers them, so a search's binary KNN and exact re-scoring run while the main thread does
 * the keyword side. A read goes to the started thread with the fewest reads waiting. An
 * implementation detail of the store (it stays the only reader of the vector tables).
 *
 * The threads start at the first read, which (like every read no thread can answer: starting,
 * crashed, past `readTimeout`, a failed query) fails with `VectorReaderUnavailable` so that the
 * store reads in-process instead: a search never waits for a thread to start. A thread that
 * crashes, exits, does not start within `startTimeout` or does not answer within `readTimeout`
 * is terminated and started again at a later read, after a backoff doubling from
 * `RESTART_BACKOFF`; after `MAX_FAILURES` failures in a row none is started again.
 */

export class VectorReaderUnavailable extends Data.TaggedError("VectorReaderUnavailable")<{ readonly reason: string }> {}

/**
 * Reader threads: a hybrid search reads its episode and fact neighbours at once, one per thread,
 * while the main thread runs the keyword side.
 */
export const READER_THREADS = 2
/** Bound on the thread's start (loading its modules and opening the file; seconds on a busy machine). */
export const READER_START_TIMEOUT = Duration.seconds(30)
/** Bound on one read on the thread, queue included; past it the thread is replaced. */
export const READ_TIMEOUT = Duration.seconds(10)
/** The wait before the first restart after a failure; doubled per failure in a row. */
export const RESTART_BACKOFF = Duration.seconds(1)
/** Failures in a row after which reads stay in-process. */
export const MAX_FAILURES = 5

export interface VectorReaderOptions {
  /** Threads in the pool (default READER_THREADS). */
  readonly threads?: number
  /** The thread's entry module; tests pass a scripted one. Default: VectorReaderWorker next to this file. */
  readonly workerEntry?: URL
  readonly startTimeout?: Duration.DurationInput
  readonly readTimeout?: Duration.DurationInput
}

export interface VectorReader {
  /**
   * Sends one `readNearest` to the thread now and gives its answer to await (which fails, as
   * sending did, when the thread cannot answer). The bound on the answer starts at that await.
   */
  readonly send: (
    owner: string,
    vector: Float32Array,
    k: number,
    dimensions: number,
    exactScanLimit: number
  ) => Effect.Effect<Effect.Effect<ReadonlyArray<Neighbour>, VectorReaderUnavailable>>
  /** `readNearest` on the thread: `send`, then its answer. */
  readonly nearest: (
    owner: string,
    vector: Float32Array,
    k: number,
    dimensions: number,
    exactScanLimit: number
  ) => Effect.Effect<ReadonlyArray<Neighbour>, VectorReaderUnavailable>
  /** Starts the threads that are not running and waits (bounded) until they answer: for tests and benchmarks. */
  readonly ready: Effect.Effect<void, VectorReaderUnavailable>
}

interface Thread {
  /** Its place in the pool. */
  readonly slot: number
  readonly worker: Worker
  readonly started: Deferred.Deferred<void, VectorReaderUnavailable>
  readonly pending: Map<number, Deferred.Deferred<ReadonlyArray<Neighbour>, VectorReaderUnavailable>>
  alive: boolean
}

const unavailable = (reason: string) => new VectorReaderUnavailable({ reason })
const describe = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))
const decodeAnswer = Schema.decodeUnknownEither(ReaderAnswer)

export const makeVectorReader = (filename: string, options: VectorReaderOptions = {}) =>
  Effect.gen(function*() {
    const entry = options.workerEntry ?? siblingEntry("VectorReaderWorker", import.meta.url)
    const startTimeout = Duration.decode(options.startTimeout ?? READER_START_TIMEOUT)
    const readTimeout = Duration.decode(options.readTimeout ?? READ_TIMEOUT)
    const runtime = yield* Effect.runtime<never>()
    const scope = yield* Effect.scope
    const size = Math.max(1, options.threads ?? READER_THREADS)
    // Touched only on the main thread (node callbacks and fibers never run at once).
    const threads: Array<Thread | undefined> = Array.from({ length: size }, () => undefined)
    let failures = 0
    let restartAt = 0
    let nextId = 0

    /** The thread stopped answering: fails what waits on it, counts the failure, terminates it. */
    const stop = (current: Thread, reason: string, counts = true) => {
      if (!current.alive) return
      current.alive = false
      if (threads[current.slot] === current) threads[current.slot] = undefined
      const error = unavailable(reason)
      Deferred.unsafeDone(current.started, Exit.fail(error))
      for (const waiting of current.pending.values()) Deferred.unsafeDone(waiting, Exit.fail(error))
      current.pending.clear()
      void current.worker.terminate().catch(() => undefined)
      if (counts) countFailure(reason)
    }

    /** Delays the next start (backoff doubling per failure in a row), and gives up after MAX_FAILURES. */
    const countFailure = (reason: string) => {
      failures++
      const backoff = Duration.toMillis(RESTART_BACKOFF) * 2 ** (failures - 1)
      restartAt = Runtime.runSync(runtime)(Clock.currentTimeMillis) + backoff
      const next = failures >= MAX_FAILURES ? "reads stay in-process from now on" : `restarting after ${backoff} ms`
      Runtime.runFork(runtime)(Effect.logWarning(`vector reader thread stopped: ${reason}; ${next}`))
    }

    const onAnswer = (current: Thread, message: unknown) => {
      const decoded = decodeAnswer(message)
      if (decoded._tag === "Left") return stop(current, "malformed answer from the vector reader thread")
      const answer = decoded.right
      switch (answer._tag) {
        case "Ready":
          return Deferred.unsafeDone(current.started, Exit.void)
        case "OpenFailed":
          return stop(current, `the vector reader thread could not open the database: ${answer.reason}`)
        case "Neighbours":
        case "Failed": {
          const waiting = current.pending.get(answer.id)
          if (waiting === undefined) return
          current.pending.delete(answer.id)
          failures = 0
          Deferred.unsafeDone(
            waiting,
            answer._tag === "Neighbours" ? Exit.succeed(answer.neighbours) : Exit.fail(unavailable(`read failed on the thread: ${answer.reason}`))
          )
        }
      }
    }

    /** Spawns the thread with every listener attached in the same synchronous step; its start is bounded in the reader's scope. */
    const spawn = (slot: number) => Effect.gen(function*() {
      const started = yield* Deferred.make<void, VectorReaderUnavailable>()
      const spawned = yield* Effect.try({
        try: (): Thread => {
          const worker = spawnThread(entry, { filename })
          worker.unref()
          const current: Thread = { slot, worker, started, pending: new Map(), alive: true }
          worker.on("message", (message: unknown) => onAnswer(current, message))
          worker.on("messageerror", (error) => stop(current, `unreadable answer from the vector reader thread: ${error.message}`))
          worker.on("error", (error) => stop(current, `the vector reader thread crashed: ${error.message}`))
          worker.on("exit", (code) => stop(current, `the vector reader thread exited with code ${code}`))
          return current
        },
        catch: (cause) => unavailable(`cannot start the vector reader thread: ${describe(cause)}`)
      })
      threads[slot] = spawned
      yield* Deferred.await(started).pipe(
        Effect.timeout(startTimeout),
        Effect.catchTag("TimeoutException", () =>
          Effect.sync(() => stop(spawned, `the vector reader thread did not start within ${Duration.toMillis(startTimeout)} ms`))),
        Effect.ignore,
        Effect.forkIn(scope)
      )
      return spawned
    }).pipe(Effect.tapError((error) => Effect.sync(() => countFailure(error.reason))))

    /** The pool's threads, missing ones started now if a restart is due. */
    const pool = Effect.gen(function*() {
      if (threads.every((thread) => thread !== undefined)) return threads
      if (failures >= MAX_FAILURES) return yield* unavailable("the vector reader thread failed too often")
      if ((yield* Clock.currentTimeMillis) < restartAt) return yield* unavailable("the vector reader thread is waiting to restart")
      for (const [slot, thread] of threads.entries()) if (thread === undefined) yield* spawn(slot)
      return threads
    })

    /** The started thread with the fewest reads waiting (a started one may still answer while another restarts). */
    const current = Effect.gen(function*() {
      const all = yield* pool.pipe(Effect.orElseSucceed(() => threads))
      let best: Thread | undefined
      for (const thread of all) {
        if (thread === undefined || !(yield* Deferred.isDone(thread.started))) continue
        if (best === undefined || thread.pending.size < best.pending.size) best = thread
      }
      if (best !== undefined) return best
      return yield* pool.pipe(Effect.zipRight(unavailable("the vector reader thread is starting")))
    })

    const send: VectorReader["send"] = (owner, vector, k, dimensions, exactScanLimit) =>
      Effect.gen(function*() {
        const running = yield* current
        const id = nextId++
        const answer = yield* Deferred.make<ReadonlyArray<Neighbour>, VectorReaderUnavailable>()
        running.pending.set(id, answer)
        // A copy of the vector (cloned again by postMessage, never transferred): the query cache keeps the original.
        const request: ReaderRequest = { _tag: "Nearest", id, owner, vector: Float32Array.from(vector), k, dimensions, exactScanLimit }
        yield* Effect.try({
          try: () => running.worker.postMessage(request),
          catch: (cause) => unavailable(`cannot reach the vector reader thread: ${describe(cause)}`)
        }).pipe(Effect.tapError((error) => Effect.sync(() => stop(running, error.reason))))
        return Deferred.await(answer).pipe(
          Effect.timeout(readTimeout),
          Effect.catchTag("TimeoutException", () => {
            const reason = `no answer from the vector reader thread within ${Duration.toMillis(readTimeout)} ms`
            stop(running, reason)
            return Effect.fail(unavailable(reason))
          }),
          Effect.ensuring(Effect.sync(() => running.pending.delete(id)))
        )
      }).pipe(Effect.catchAll((error) => Effect.succeed(Effect.fail(error))))

    const nearest: VectorReader["nearest"] = (owner, vector, k, dimensions, exactScanLimit) =>
      Effect.flatten(send(owner, vector, k, dimensions, exactScanLimit))

    const ready = Effect.gen(function*() {
      for (const thread of yield* pool) if (thread !== undefined) yield* Deferred.await(thread.started)
    })

    yield* Effect.addFinalizer(() => Effect.sync(() => threads.forEach((thread) => thread !== undefined && stop(thread, "closed", false))))

    const reader: VectorReader = { send, nearest, ready }
    return reader
  })
