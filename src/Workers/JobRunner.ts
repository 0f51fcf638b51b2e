import { SqlClient } from "@effect/sql"
import { Clock, Effect, Option } from "effect"
import { TrackSettingsConfig } from "../Config/EngramConfig.js"
import { type EmbeddingJobKind, type Job, MEMCELL_EXTRACTION_KINDS, type TrackJobKind } from "../Domain/Job.js"
import { messageText, type StoredMessage } from "../Domain/Message.js"
import { LedgerRepo } from "../Ledger/LedgerRepo.js"
import { yieldToEventLoop } from "../Observability/EventLoop.js"
import { withBusyRetry } from "../Storage/Database.js"
import { DerivedRepo } from "../Extraction/DerivedRepo.js"
import { JobQueue } from "../Jobs/JobQueue.js"
import { MemcellRepo } from "../Memorize/MemcellRepo.js"
import { EmbeddingIndexer } from "../Indexing/EmbeddingIndexer.js"
import { ProfileBuilder } from "../Profiles/ProfileBuilder.js"
import { AgentTrack } from "../AgentTrack/AgentTrack.js"
import {
  type EpisodeDraft,
  EpisodeExtractor,
  type FactDraft,
  FactExtractor,
  type ForesightDraft,
  ForesightExtractor,
  MemcellExtractor,
  type MemcellInput,
  userSenders
} from "../Extraction/Extractors.js"

/** A memcell of at least this many characters lets the event loop turn between the steps of its jobs. */
export const BIG_MEMCELL_CHARS = 64 * 1024

const isBig = (messages: ReadonlyArray<StoredMessage>) =>
  messages.reduce((chars, message) => chars + messageText(message.content).length, 0) >= BIG_MEMCELL_CHARS

/**
 * Runs one claimed job: reads its memcell, calls the extractor (outside any transaction: it may
 * call an LLM), then writes the result and marks the job done in one transaction. The write
 * replaces whatever the job derived before and checks the lease, so a re-run can never duplicate
 * memory and a worker that lost its lease cannot overwrite a newer result.
 */
export class JobRunner extends Effect.Service<JobRunner>()("engram/JobRunner", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const jobs = yield* JobQueue
    const derived = yield* DerivedRepo
    const buffers = yield* LedgerRepo
    const memcells = yield* MemcellRepo
    const episodes = yield* EpisodeExtractor
    const facts = yield* FactExtractor
    const foresight = yield* ForesightExtractor
    // Present when the model extracts a memcell in one call; otherwise a `memcell` job runs the three extractors.
    const combined = yield* Effect.serviceOption(MemcellExtractor)
    // Present only when an embedder is configured: then episode and fact writes queue their embedding.
    const indexer = yield* Effect.serviceOption(EmbeddingIndexer)
    const tracks = yield* TrackSettingsConfig
    const profiles = yield* ProfileBuilder
    const agents = yield* AgentTrack

    /** The tracks a memcell feeds: profiles of its users, cases of its agents (each when switched on). */
    const tracksOf = (input: MemcellInput): ReadonlyArray<TrackJobKind> => {
      const kinds: Array<TrackJobKind> = []
      if (tracks.profiles && userSenders(input).length > 0) kinds.push("profile")
      if (tracks.agentTrack && input.messages.some((m) => m.role === "assistant")) kinds.push("agent")
      return kinds
    }

    const thenEmbed = (kind: EmbeddingJobKind, input: MemcellInput, now: number) => <E, R>(write: Effect.Effect<void, E, R>) =>
      Option.isSome(indexer) ? Effect.zipRight(write, jobs.requestEmbedding(kind, input.memcell, now)) : write

    const writeEpisodes = (input: MemcellInput, drafts: ReadonlyArray<EpisodeDraft>, extractor: string, now: number) =>
      derived.replaceEpisodes(input.memcell, drafts.map((d) => ({ ...d, user_id: d.sender_id })), extractor, now, input.messages).pipe(
        thenEmbed("embed_episodes", input, now)
      )
    const writeFacts = (input: MemcellInput, drafts: ReadonlyArray<FactDraft>, extractor: string, now: number) =>
      derived.replaceFacts(input.memcell, drafts.map((d) => ({ ...d, user_id: d.sender_id })), extractor, now).pipe(
        thenEmbed("embed_facts", input, now)
      )
    const writeForesight = (input: MemcellInput, drafts: ReadonlyArray<ForesightDraft>, extractor: string, now: number) =>
      derived.replaceForesight(input.memcell, drafts.map((d) => ({ ...d, user_id: d.sender_id })), extractor, now)

    /** All three kinds of a memcell: one call when the model can, else one per kind. */
    const extractMemcell = (input: MemcellInput) =>
      Option.match(combined, {
        onSome: (extractor) => Effect.map(extractor.extract(input), (drafts) => ({ drafts, name: extractor.name })),
        onNone: () =>
          Effect.map(
            Effect.all({ episodes: episodes.extract(input), facts: facts.extract(input), foresight: foresight.extract(input) }),
            (drafts) => ({ drafts, name: episodes.name })
          )
      })

    const resultWriter = (job: Job, input: MemcellInput, now: number) => {
      const cell = input.memcell
      switch (job.kind) {
        case "episode":
          return Effect.map(episodes.extract(input), (drafts) => writeEpisodes(input, drafts, episodes.name, now))
        case "facts":
          return Effect.map(facts.extract(input), (drafts) => writeFacts(input, drafts, facts.name, now))
        case "memcell":
          // One transaction writes all three, so the memcell's memory appears whole, exactly once.
          return Effect.map(extractMemcell(input), ({ drafts, name }) =>
            Effect.all([
              writeEpisodes(input, drafts.episodes, name, now),
              writeFacts(input, drafts.facts, name, now),
              writeForesight(input, drafts.foresight, name, now)
            ], { discard: true }))
        case "embed_episodes":
        case "embed_facts":
          // Queued while an embedder was configured, run without one: nothing to compute.
          return Option.match(indexer, {
            onNone: () => Effect.succeed(Effect.void),
            onSome: (embedding) => embedding.prepareJob(job.kind as EmbeddingJobKind, cell.memcell_id)
          })
        case "foresight":
          return Effect.map(foresight.extract(input), (drafts) => writeForesight(input, drafts, foresight.name, now))
        case "profile":
          return Effect.map(profiles.prepareJob(input), (write) => write(now))
        case "agent":
          return Effect.map(agents.prepareJob(input), (write) => write(now))
      }
    }

    const run = Effect.fn("JobRunner.run")(function*(job: Job) {
      yield* Effect.annotateCurrentSpan({ "engram.job": job.job_id, "engram.kind": job.kind })
      const cell = yield* memcells.find(job.memcell_id)
      const now = yield* Clock.currentTimeMillis
      if (Option.isNone(cell)) {
        // Its memcell was deleted after the job was claimed: nothing left to derive.
        return yield* sql.withTransaction(jobs.markDone(job, now)).pipe(withBusyRetry("finish orphaned job"))
      }
      const messages = yield* buffers.ofMemcell(job.memcell_id)
      // The workers' jobs chain on the microtask queue: after reading a big memcell (up to megabytes
      // of text) and after extracting it, let requests in before the next piece of work.
      const letRequestsIn = isBig(messages) ? yieldToEventLoop : Effect.void
      yield* letRequestsIn
      const input: MemcellInput = { memcell: cell.value, messages }
      const work = Effect.gen(function*() {
        const write = yield* resultWriter(job, input, now)
        yield* letRequestsIn
        const finishedAt = yield* Clock.currentTimeMillis
        // Checked inside the transaction: memory derived from a memcell deleted meanwhile never lands.
        const finish = Effect.gen(function*() {
          if (!(yield* memcells.existsLocked(job.memcell_id))) {
            // The delete usually took the job row too; either way there is nothing left to do.
            return yield* jobs.markDone(job, finishedAt).pipe(Effect.catchTag("LeaseLost", () => Effect.void))
          }
          yield* write
          yield* jobs.markDone(job, finishedAt)
          // The transaction that finishes the memcell's extraction queues its tracks (once: see enqueueTracks).
          if (MEMCELL_EXTRACTION_KINDS.includes(job.kind) && (yield* jobs.extractionDone(job.memcell_id))) {
            yield* jobs.enqueueTracks(tracksOf(input), cell.value, finishedAt)
          }
        })
        yield* sql.withTransaction(finish).pipe(withBusyRetry(`write ${job.kind} result`))
      })
      // A user's profile folds run one at a time (the later one finds the earlier's memcells folded);
      // so do an agent's skill updates.
      yield* job.kind === "profile"
        ? profiles.serialized(input, work)
        : job.kind === "agent"
        ? agents.serialized(input, work)
        : work
    })

    return { run } as const
  })
}) {}
