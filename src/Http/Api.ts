import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { DeleteCounts, DeleteRequest } from "../Domain/DeleteRequest.js"
import { GetRequest } from "../Domain/GetRequest.js"
import { DeadJob } from "../Domain/Job.js"
import { AddStatus, FlushStatus } from "../Domain/Memcell.js"
import { GetResult } from "../Domain/MemoryItems.js"
import { SearchRequest, SearchResult } from "../Domain/SearchRequest.js"
import { AddRequest, DEFAULT_SCOPE_ID, FlushRequest, MessageContent, Role, ScopeId, SessionId } from "../Domain/Message.js"
import { VERSION } from "../Version.js"
import { ErrorEnvelope, SuccessEnvelope } from "./Envelope.js"

export const AddData = Schema.Struct({ message_count: Schema.Number, status: AddStatus })
export const FlushData = Schema.Struct({
  status: FlushStatus,
  /** Only when the flush waited: whether the session's memcells were extracted within the wait. */
  extraction_complete: Schema.optional(Schema.Boolean)
})

/** Hard bound of flush's `wait_timeout_ms` (ENGRAM_FLUSH_WAIT_MAX may cap it lower). */
export const FLUSH_WAIT_TIMEOUT_MAX_MS = 600_000

/** flush, optionally waiting (bounded) until the session's memcells are extracted: read-your-writes. */
export const FlushPayload = Schema.Struct({
  ...FlushRequest.fields,
  wait: Schema.optional(Schema.Boolean),
  wait_timeout_ms: Schema.optional(
    Schema.Int.pipe(Schema.between(1, FLUSH_WAIT_TIMEOUT_MAX_MS, { message: () => `must be an integer between 1 and ${FLUSH_WAIT_TIMEOUT_MAX_MS}` }))
  )
}).pipe(
  Schema.filter((payload) =>
    payload.wait_timeout_ms !== undefined && payload.wait !== true
      ? { path: ["wait_timeout_ms"], message: "only applies when wait is true" }
      : undefined
  )
)

const BufferedMessage = Schema.Struct({
  message_id: Schema.String,
  sender_id: Schema.String,
  role: Role,
  timestamp: Schema.Number,
  content: MessageContent
})

const SessionMemcell = Schema.Struct({
  memcell_id: Schema.String,
  message_ids: Schema.Array(Schema.String),
  sender_ids: Schema.Array(Schema.String),
  timestamp: Schema.Number
})

export const SessionData = Schema.Struct({
  session_id: Schema.String,
  app_id: Schema.String,
  project_id: Schema.String,
  buffered: Schema.Array(BufferedMessage),
  memcells: Schema.Array(SessionMemcell)
})

const SessionScopeParams = Schema.Struct({
  app_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID }),
  project_id: Schema.optionalWith(ScopeId, { default: () => DEFAULT_SCOPE_ID })
})

/** add / flush / session: the memorize contract. */
export class MemoryGroup extends HttpApiGroup.make("memory")
  .add(
    HttpApiEndpoint.post("add", "/memory/add")
      .setPayload(AddRequest)
      .addSuccess(SuccessEnvelope(AddData))
      .annotate(OpenApi.Description, "Store messages durably, then cut closed topics into memcells")
  )
  .add(
    HttpApiEndpoint.post("flush", "/memory/flush")
      .setPayload(FlushPayload)
      .addSuccess(SuccessEnvelope(FlushData))
      .annotate(OpenApi.Description, "Close every buffered message of the session into memcells")
  )
  .add(
    HttpApiEndpoint.get("session", "/memory/sessions/:session_id")
      .setPath(Schema.Struct({ session_id: SessionId }))
      .setUrlParams(SessionScopeParams)
      .addSuccess(SuccessEnvelope(SessionData))
      .annotate(OpenApi.Description, "A session's buffered messages and its memcells (creation order)")
  )
  .prefix("/api/v2")
{}

/** `failed` is the part of `queued` that already failed at least once and waits for its retry. */
const JobCountsData = Schema.Struct({
  queued: Schema.Number,
  running: Schema.Number,
  failed: Schema.Number,
  dead: Schema.Number
})

/** The embedder in use: its model (recorded with the vectors) and vector width. */
const EmbedderInUse = Schema.Struct({ model: Schema.String, dimensions: Schema.Number })

/**
 * Where vectors are kept (sqlite-vec on SQLite, pgvector on Postgres) and whether this database
 * can hold them at all; `hint` says why not (e.g. a Postgres server without pgvector).
 */
const VectorStoreCapability = Schema.Struct({
  store: Schema.Literal("sqlite-vec", "pgvector"),
  available: Schema.Boolean,
  hint: Schema.NullOr(Schema.String)
})

const Capabilities = Schema.Struct({
  llm: Schema.Boolean,
  embed: Schema.Boolean,
  /** null when ENGRAM_EMBEDDER is off. */
  embedder: Schema.NullOr(EmbedderInUse),
  vectors: VectorStoreCapability,
  /** True when an LLM is configured: `enable_llm_rerank` is then applied by the model. */
  rerank: Schema.Boolean,
  /** EverOS's flags for document parsing and image understanding: Engram has neither. */
  multimodal_llm: Schema.Boolean,
  parser: Schema.Boolean,
  boundary_detector: Schema.String
})

export const HealthData = Schema.Struct({
  status: Schema.Literal("ok"),
  version: Schema.String,
  capabilities: Capabilities,
  /** Features switched off by the configuration (e.g. `agentic_search` without an LLM). */
  disabled_features: Schema.Array(Schema.String),
  uptime_seconds: Schema.Number,
  /** Extraction queue; null when storage could not be read. */
  jobs: Schema.NullOr(JobCountsData)
})

/** Unversioned operational routes. */
export class SystemGroup extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(HealthData))
  .add(HttpApiEndpoint.get("metrics", "/metrics").addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" })))
{}

/** get / delete: reading and forgetting derived memory. */
export class ReadGroup extends HttpApiGroup.make("read")
  .add(
    HttpApiEndpoint.post("get", "/memory/get")
      .setPayload(GetRequest)
      .addSuccess(SuccessEnvelope(GetResult))
      .annotate(OpenApi.Description, "A page of a user's episodes (with their atomic facts), atomic facts or foresight")
  )
  .add(
    HttpApiEndpoint.post("delete", "/memory/delete")
      .setPayload(DeleteRequest)
      .addSuccess(SuccessEnvelope(DeleteCounts))
      .annotate(OpenApi.Description, "Delete a user's, a session's or some memcells' messages with everything derived from them")
  )
  .prefix("/api/v2")
{}

const JobsParams = Schema.Struct({
  status: Schema.optionalWith(Schema.Literal("dead"), { default: () => "dead" as const }),
  limit: Schema.optionalWith(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000, { message: () => "must be an integer between 1 and 1000" })),
    { default: () => 100 }
  )
})

const RetryPayload = Schema.Struct({
  job_ids: Schema.optional(
    Schema.Array(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256))).pipe(Schema.minItems(1), Schema.maxItems(1000))
  )
}).annotations({ parseOptions: { onExcessProperty: "error" } })

/** The extraction queue's dead letters: list them, re-queue them. */
export class JobsGroup extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.get("list", "/jobs")
      .setUrlParams(JobsParams)
      .addSuccess(SuccessEnvelope(Schema.Struct({ jobs: Schema.Array(DeadJob) })))
      .annotate(OpenApi.Description, "Dead-lettered extraction jobs, most recently failed first")
  )
  .add(
    HttpApiEndpoint.post("retry", "/jobs/retry")
      // No body at all means the same as `{}`: every dead job.
      .setPayload(Schema.NullOr(RetryPayload))
      .addSuccess(SuccessEnvelope(Schema.Struct({ retried: Schema.Number })))
      .annotate(OpenApi.Description, "Re-queue dead jobs (the given ids, or all) with a fresh attempt budget")
  )
  .prefix("/api/v2")
{}

/** search: keyword, vector and hybrid retrieval with provenance. */
export class SearchGroup extends HttpApiGroup.make("search")
  .add(
    HttpApiEndpoint.post("search", "/memory/search")
      .setPayload(SearchRequest)
      .addSuccess(SuccessEnvelope(SearchResult))
      .annotate(
        OpenApi.Description,
        "A user's episodes (with matching atomic facts and source message ids) and buffered messages that answer a query"
      )
  )
  .prefix("/api/v2")
{}

export class EngramApi extends HttpApi.make("engram").add(MemoryGroup).add(SystemGroup).add(ReadGroup).add(JobsGroup).add(SearchGroup)
  .addError(ErrorEnvelope("INVALID_INPUT"))
  .addError(ErrorEnvelope("BAD_REQUEST"))
  .addError(ErrorEnvelope("NOT_FOUND"))
  .addError(ErrorEnvelope("METHOD_NOT_ALLOWED"))
  .addError(ErrorEnvelope("REQUEST_TIMEOUT"))
  .addError(ErrorEnvelope("CONFLICT"))
  .addError(ErrorEnvelope("PAYLOAD_TOO_LARGE"))
  .addError(ErrorEnvelope("UNSUPPORTED_FORMAT"))
  .addError(ErrorEnvelope("EXTRACTION_EMPTY"))
  .addError(ErrorEnvelope("UNAUTHORIZED"))
  .addError(ErrorEnvelope("EXTERNAL_SERVICE_UNAVAILABLE"))
  .addError(ErrorEnvelope("CAPABILITY_UNAVAILABLE"))
  .addError(ErrorEnvelope("CONFIGURATION_ERROR"))
  .addError(ErrorEnvelope("INTERNAL_ERROR"))
  .annotate(OpenApi.Title, "Engram")
  .annotate(OpenApi.Version, VERSION)
  .annotate(OpenApi.Description, "Long-term memory for AI agents. /api/v1 is an identical alias of /api/v2.")
{}
