import { Cause, Clock, Data, Duration, Effect, Option, Schedule } from "effect"
import { GroupCommit } from "../Storage/GroupCommit.js"
import { EXTRACTION_KINDS } from "../Domain/Job.js"
import { ExtractionPlan } from "../Jobs/ExtractionPlan.js"
import type { MemorizeSettings } from "../Config/EngramConfig.js"
import { ExtractionSettingsConfig, MemorizeSettingsConfig } from "../Config/EngramConfig.js"
import { ExtractionSignal } from "../Jobs/ExtractionSignal.js"
import { JobQueue } from "../Jobs/JobQueue.js"
import { CommitContention } from "../Domain/Errors.js"
import type { AddResult, FlushResult } from "../Domain/Memcell.js"
import { type AddRequest, type FlushRequest, messageText, type SessionKey, type StoredMessage } from "../Domain/Message.js"
import { LedgerRepo, type PreparedMessage } from "../Ledger/LedgerRepo.js"
import { MemcellRepo, type NewMemcell, StaleBuffer } from "./MemcellRepo.js"
import { makeZonedCalendar } from "../Text/Calendar.js"
import { TokenCounter } from "../Text/TokenCounter.js"
import { BoundaryDetector } from "./BoundaryDetector.js"
import { derivedMessageId, memcellIdOf, messageFingerprint } from "../Ledger/MessageIdentity.js"
import type { SeenMark } from "../Ledger/SeenMark.js"
import { planSegments } from "./Segmenter.js"
import { type PermitBudget, SessionLock } from "./SessionLock.js"

const sessionKeyOf = (request: { app_id: SessionKey["app_id"]; project_id: SessionKey["project_id"]; session_id: string }): SessionKey => ({
  app_id: request.app_id,
  project_id: request.project_id,
  session_id: request.session_id
})

const toNewMemcell = (key: SessionKey, segment: ReadonlyArray<StoredMessage>): NewMemcell => {
  const message_ids = segment.map((m) => m.message_id)
  return {
    memcell_id: memcellIdOf(key, message_ids),
    message_ids,
    sender_ids: Array.from(new Set(segment.map((m) => m.sender_id))),
    timestamp: Math.max(...segment.map((m) => m.timestamp))
  }
}

/** A message of the add, as the buffer will hold it once stored (its seq is not known yet and is not read). */
const toStoredMessage = (key: SessionKey, p: PreparedMessage): StoredMessage => ({
  seq: Number.MAX_SAFE_INTEGER,
  message_id: p.message_id,
  ...key,
  sender_id: p.message.sender_id,
  sender_name: p.message.sender_name ?? null,
  role: p.message.role,
  timestamp: p.message.timestamp,
  content: p.message.content,
  tool_calls: p.message.tool_calls ?? null,
  tool_call_id: p.message.tool_call_id ?? null,
  token_count: p.token_count,
  memcell_id: null
})

/** Some message of an add was already in the ledger: internal to `Memory.add`, which then stores and plans in two steps. */
class NotAllNew extends Data.TaggedError("NotAllNew")<{}> {}

/** How often a cycle may lose the compare-and-set to another writer before giving up. */
const COMMIT_ATTEMPTS = 8

/**
 * The memorize program: messages become durable in the ledger first, then (holding the session's
 * permit) the buffer is read, segmented and committed in one compare-and-set transaction.
 */
export class Memory extends Effect.Service<Memory>()("engram/Memory", {
  effect: Effect.gen(function*() {
    const settings: MemorizeSettings = yield* MemorizeSettingsConfig
    const buffers = yield* LedgerRepo
    const memcells = yield* MemcellRepo
    const detector = yield* BoundaryDetector
    const lock = yield* SessionLock
    const tokens = yield* TokenCounter
    const signal = yield* ExtractionSignal
    const jobs = yield* JobQueue
    const groupCommit = yield* GroupCommit
    const extraction = yield* ExtractionSettingsConfig
    // Which extraction jobs a memcell gets depends on the extractors wired in (see ExtractionPlan).
    const jobKinds = Option.match(yield* Effect.serviceOption(ExtractionPlan), {
      onNone: () => EXTRACTION_KINDS,
      onSome: (plan) => plan.jobKinds
    })
    const rules = { maxCellTokens: settings.maxCellTokens, maxCellMessages: settings.maxCellMessages, calendar: makeZonedCalendar(settings.timeZone) }

    /**
     * The plan of a buffer. With a model it may wait on the boundary call: that wait counts against
     * the lock timeout (what is left of it once the permit is held).
     */
    const plan = (buffer: ReadonlyArray<StoredMessage>, final: boolean, marks: ReadonlyMap<string, SeenMark>, budget: PermitBudget) => {
      const planned = planSegments(buffer, detector, { ...rules, final }, marks)
      return detector.asksModel ? budget.within(planned) : planned
    }

    /**
     * Ids, fingerprints and token counts of a batch. Counting megabytes of text takes a while,
     * so it yields to the event loop between slices (see `TokenCounter.countYielding`).
     */
    const prepare = (key: SessionKey, request: AddRequest): Effect.Effect<ReadonlyArray<PreparedMessage>> =>
      Effect.forEach(request.messages, (message) =>
        Effect.gen(function*() {
          const fingerprint = messageFingerprint(key, message)
          const toolCallText = message.tool_calls === undefined ? "" : JSON.stringify(message.tool_calls)
          const token_count = (yield* tokens.countYielding(messageText(message.content))) + (yield* tokens.countYielding(toolCallText))
          return { message_id: message.message_id ?? derivedMessageId(fingerprint), fingerprint, token_count, message }
        }))

    /** One read → plan → commit pass; a lost compare-and-set is retried from a fresh read. */
    const cycle = (key: SessionKey, final: boolean, budget: PermitBudget) =>
      Effect.gen(function*() {
        const { marks, messages: buffered } = yield* buffers.bufferAndMarks(key)
        if (buffered.length === 0) return []
        const planned = yield* plan(buffered, final, marks, budget)
        const cells = planned.closed.map((segment) => toNewMemcell(key, segment))
        yield* memcells.commit(key, cells, { jobKinds, seen: planned.seen })
        if (cells.length > 0) yield* signal.notify
        return cells.map((cell) => cell.memcell_id)
      }).pipe(
        Effect.retry({
          schedule: Schedule.exponential("5 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(COMMIT_ATTEMPTS - 1))),
          while: (error) => error._tag === "StaleBuffer"
        }),
        Effect.catchIf(
          (error): error is StaleBuffer => error._tag === "StaleBuffer",
          () => new CommitContention({ session_id: key.session_id, attempts: COMMIT_ATTEMPTS })
        ),
        Effect.withSpan("Memory.cycle", { attributes: { final } })
      )

    /**
     * The add's messages and the memcells they close in one write, hence one shared transaction
     * and one fsync instead of two: holding the session's permit, the buffer is read and planned
     * as it will be once the new messages are in, then the messages are inserted and the plan
     * committed (same compare-and-set) together. The boundary decision (an LLM call with a model)
     * is made before the write is queued. None when the messages are not all new (a retry: the
     * ledger must say what each one is) or the buffer moved under the plan: the caller then takes
     * the two-step way.
     */
    const storeAndCycle = (key: SessionKey, prepared: ReadonlyArray<PreparedMessage>, budget: PermitBudget) =>
      Effect.gen(function*() {
        const ids = new Set(prepared.map((p) => p.message_id))
        if (ids.size !== prepared.length) return Option.none()
        const { marks, messages: buffered } = yield* buffers.bufferAndMarks(key)
        if (buffered.some((m) => ids.has(m.message_id))) return Option.none()
        // In (timestamp, seq) order, as the buffer will read: new rows get the highest seqs, in request order.
        const incoming = prepared.map((p) => toStoredMessage(key, p))
        const combined = [...buffered, ...incoming].sort((a, b) => a.timestamp - b.timestamp)
        const planned = yield* plan(combined, false, marks, budget)
        const cells = planned.closed.map((segment) => toNewMemcell(key, segment))
        const now = yield* Clock.currentTimeMillis
        const write = Effect.gen(function*() {
          const stored = yield* buffers.storeBatch(key, prepared, now)
          if (stored !== prepared.length) return yield* new NotAllNew()
          yield* memcells.commitStatements(key, cells, { jobKinds, seen: planned.seen }, now)
        })
        const committed = yield* groupCommit.run("store and commit messages", write).pipe(
          Effect.as(true),
          Effect.catchTags({ NotAllNew: () => Effect.succeed(false), StaleBuffer: () => Effect.succeed(false) })
        )
        if (!committed) return Option.none()
        if (cells.length > 0) yield* signal.notify
        return Option.some(cells.map((cell) => cell.memcell_id))
      }).pipe(Effect.withSpan("Memory.storeAndCycle"))

    const add = Effect.fn("Memory.add")(function*(request: AddRequest) {
      const key = sessionKeyOf(request)
      const prepared = yield* prepare(key, request)
      const resultOf = (message_count: number, memcell_ids: ReadonlyArray<string>): AddResult => ({
        message_count,
        status: memcell_ids.length > 0 ? "extracted" : "accumulated",
        memcell_ids
      })
      // Deferred: durable in the ledger, cut by the next add without the flag or a flush.
      if (request.defer_extraction === true || prepared.length === 0) {
        return resultOf(yield* buffers.ingest(key, prepared), [])
      }
      const combined = yield* lock.withPermit(key, (budget) => storeAndCycle(key, prepared, budget)).pipe(
        // Whatever stopped it (the model failed, the permit timed out, a defect), the messages are
        // stored before the caller hears of it, as when they were stored first (a retry is a no-op).
        Effect.tapErrorCause((cause) => Cause.isInterruptedOnly(cause) ? Effect.void : buffers.ingest(key, prepared))
      )
      if (Option.isSome(combined)) return resultOf(prepared.length, combined.value)
      const message_count = yield* buffers.ingest(key, prepared)
      return resultOf(message_count, yield* lock.withPermit(key, (budget) => cycle(key, false, budget)))
    })

    /** Resolves once no extraction job of the session is queued or running, or after `limit`. */
    const awaitExtraction = (key: SessionKey, limit: Duration.Duration) =>
      jobs.pendingForSession(key).pipe(
        Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (pending) => pending === 0 }),
        Effect.map(() => true),
        Effect.timeoutTo({ duration: limit, onTimeout: () => false, onSuccess: (done) => done })
      )

    /**
     * Closes every buffered message into memcells. With `wait`, also waits (at most `wait`, capped
     * by ENGRAM_FLUSH_WAIT_MAX) until the session's memcells are extracted, so the caller can read
     * its own writes; `extraction_complete` says whether that happened in time.
     */
    const flush = Effect.fn("Memory.flush")(function*(request: FlushRequest, options: { readonly wait?: Duration.DurationInput } = {}) {
      const key = sessionKeyOf(request)
      const memcell_ids = yield* lock.withPermit(key, (budget) => cycle(key, true, budget))
      const status = memcell_ids.length > 0 ? "extracted" as const : "no_extraction" as const
      if (options.wait === undefined) return { status, memcell_ids } satisfies FlushResult
      const limit = Duration.min(Duration.decode(options.wait), extraction.flushWaitMax)
      return { status, memcell_ids, extraction_complete: yield* awaitExtraction(key, limit) } satisfies FlushResult
    })

    /** A session's buffered messages (in conversation order) and its memcells (in creation order). */
    const session = Effect.fn("Memory.session")(function*(key: SessionKey) {
      const [buffered, cells] = yield* Effect.all([buffers.buffer(key), memcells.list(key)])
      return { ...key, buffered, memcells: cells }
    })

    return { add, flush, session } as const
  })
}) {}
