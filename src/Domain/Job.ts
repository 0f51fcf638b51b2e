import { Schema } from "effect"

/**
 * What an extraction job produces from its memcell: `episode`, `facts`, `foresight` one kind
 * each; `memcell` all three at once (one model call when the model can). The `embed_*` kinds compute the vectors of
 * the memcell's episodes / facts; they are enqueued (only when an embedder is configured) in the
 * transaction that writes those rows.
 */
export const JobKind = Schema.Literal(
  "episode",
  "facts",
  "foresight",
  "memcell",
  "embed_episodes",
  "embed_facts",
  "profile",
  "agent"
)
export type JobKind = typeof JobKind.Type

/**
 * The outbox: every memcell gets these jobs, enqueued in the memcell's own commit. One job per
 * kind (offline, or `ENGRAM_EXTRACTION_CALLS=per_kind`), or one job for all three.
 */
export const EXTRACTION_KINDS: ReadonlyArray<JobKind> = ["episode", "facts", "foresight"]
export const COMBINED_EXTRACTION_KINDS: ReadonlyArray<JobKind> = ["memcell"]

/** Every kind that extracts a memcell; the tracks' jobs follow once all of a memcell's are done. */
export const MEMCELL_EXTRACTION_KINDS: ReadonlyArray<JobKind> = ["episode", "facts", "foresight", "memcell"]

/**
 * The tracks built after a memcell's extraction: `profile` folds the memcell into its users'
 * profiles, `agent` turns its agents' trajectories into cases and skills. Enqueued (once per
 * memcell) in the transaction that finishes the memcell's last extraction job.
 */
export const TrackJobKind = Schema.Literal("profile", "agent")
export type TrackJobKind = typeof TrackJobKind.Type

export const EmbeddingJobKind = Schema.Literal("embed_episodes", "embed_facts")
export type EmbeddingJobKind = typeof EmbeddingJobKind.Type

export const JobStatus = Schema.Literal("queued", "running", "done", "dead")
export type JobStatus = typeof JobStatus.Type

export const Job = Schema.Struct({
  job_id: Schema.String,
  kind: JobKind,
  memcell_id: Schema.String,
  app_id: Schema.String,
  project_id: Schema.String,
  session_id: Schema.String,
  status: JobStatus,
  attempts: Schema.Number,
  run_after: Schema.Number,
  lease_owner: Schema.NullOr(Schema.String),
  lease_until: Schema.NullOr(Schema.Number),
  last_error: Schema.NullOr(Schema.String),
  created_at: Schema.Number,
  updated_at: Schema.Number
})
export type Job = typeof Job.Type

export const jobIdOf = (kind: JobKind, memcellId: string) => `job_${kind}_${memcellId}`

/** What a dead letter shows its operator (HTTP and CLI alike). */
export const DeadJob = Job.pipe(
  Schema.pick("job_id", "kind", "memcell_id", "app_id", "project_id", "session_id", "attempts", "last_error", "updated_at")
)

export const deadJobView = ({ app_id, attempts, job_id, kind, last_error, memcell_id, project_id, session_id, updated_at }: Job): typeof DeadJob.Type => ({
  job_id,
  kind,
  memcell_id,
  app_id,
  project_id,
  session_id,
  attempts,
  last_error,
  updated_at
})
