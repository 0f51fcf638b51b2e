import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { AddStatus, FlushStatus } from "../Domain/Memcell.js"
import { AddRequest, DEFAULT_SCOPE_ID, FlushRequest, MessageContent, Role, ScopeId, SessionId } from "../Domain/Message.js"
import { VERSION } from "../Version.js"
import { ErrorEnvelope, SuccessEnvelope } from "./Envelope.js"

const AddData = Schema.Struct({ message_count: Schema.Number, status: AddStatus })
const FlushData = Schema.Struct({ status: FlushStatus })

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
      .setPayload(FlushRequest)
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

const Capabilities = Schema.Struct({
  llm: Schema.Boolean,
  embed: Schema.Boolean,
  rerank: Schema.Boolean,
  boundary_detector: Schema.String
})

export const HealthData = Schema.Struct({
  status: Schema.Literal("ok"),
  version: Schema.String,
  capabilities: Capabilities,
  uptime_seconds: Schema.Number
})

/** Unversioned operational routes. */
export class SystemGroup extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(HealthData))
  .add(HttpApiEndpoint.get("metrics", "/metrics").addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" })))
{}

export class EngramApi extends HttpApi.make("engram").add(MemoryGroup).add(SystemGroup)
  .addError(ErrorEnvelope("INVALID_INPUT"))
  .addError(ErrorEnvelope("BAD_REQUEST"))
  .addError(ErrorEnvelope("NOT_FOUND"))
  .addError(ErrorEnvelope("METHOD_NOT_ALLOWED"))
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
