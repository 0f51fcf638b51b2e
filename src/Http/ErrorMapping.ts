import { type HttpApiError, HttpServerError } from "@effect/platform"
import { Cause, Option } from "effect"
import type {
  CapabilityUnavailable,
  CommitContention,
  InvalidRequest,
  LlmMalformedAnswer,
  LlmUnavailable,
  MessageIdConflict,
  SessionLockTimeout,
  StorageError
} from "../Domain/Errors.js"
import type { EmbedderUnavailable } from "../Llm/Embedder.js"
import type { Unauthorized } from "./Auth.js"
import type { BodyTooDeep, UnsupportedContentType } from "./BodyGuard.js"
import { type ErrorCode, ErrorStatus } from "./Envelope.js"

/** What an error becomes on the wire. */
export interface ApiFailure {
  readonly status: number
  readonly code: ErrorCode
  readonly message: string
  /** Internal failures are logged (never sent); client mistakes are not worth a log line. */
  readonly log: boolean
}

const failure = (code: ErrorCode, message: string, log = false): ApiFailure => ({
  status: ErrorStatus[code],
  code,
  message,
  log
})

/** Schema messages quote the offending value ("actual ..."), which may be megabytes of the request. */
const MAX_ISSUE_MESSAGE_CHARS = 200

const shorten = (text: string) => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > MAX_ISSUE_MESSAGE_CHARS ? `${flat.slice(0, MAX_ISSUE_MESSAGE_CHARS - 3)}...` : flat
}

/**
 * `"<message>: <dotted.path>"` from the first issue of a payload, path or query decode failure;
 * the path is `body` when the body itself has the wrong shape, so every rejection names its field.
 */
const decodeFailureMessage = (error: HttpApiError.HttpApiDecodeError): string => {
  const issue = error.issues[0]
  if (issue === undefined) return shorten(error.message)
  const message = issue._tag === "Missing" ? "is required" : shorten(issue.message)
  const path = issue.path.map(String).join(".")
  return `${message}: ${path.length > 0 ? path : "body"}`
}

/** Every error a handler may fail with (`enveloped` refuses any other at compile time). */
export type HandlerError =
  | InvalidRequest
  | MessageIdConflict
  | SessionLockTimeout
  | CommitContention
  | LlmUnavailable
  | LlmMalformedAnswer
  | EmbedderUnavailable
  | CapabilityUnavailable
  | StorageError

/** Failures of the edge itself, before or around a handler. */
type EdgeError = HttpApiError.HttpApiDecodeError | Unauthorized | UnsupportedContentType | BodyTooDeep | HttpServerError.RouteNotFound

type KnownError = HandlerError | EdgeError

/**
 * The contract code of every known error, keyed by its `_tag`: the compiler checks that each error
 * class has exactly one entry, so renaming or adding one cannot silently turn it into a 500.
 * StorageError is a 500 on purpose (logged, never described to the client).
 */
const CODE_OF: { readonly [Tag in KnownError["_tag"]]: ErrorCode } = {
  HttpApiDecodeError: "INVALID_INPUT",
  InvalidRequest: "INVALID_INPUT",
  MessageIdConflict: "CONFLICT",
  Unauthorized: "UNAUTHORIZED",
  UnsupportedContentType: "UNSUPPORTED_FORMAT",
  BodyTooDeep: "BAD_REQUEST",
  // Retryable: the messages are stored; a retry of the same request is a no-op plus a new attempt.
  SessionLockTimeout: "EXTERNAL_SERVICE_UNAVAILABLE",
  CommitContention: "EXTERNAL_SERVICE_UNAVAILABLE",
  LlmUnavailable: "EXTERNAL_SERVICE_UNAVAILABLE",
  LlmMalformedAnswer: "EXTERNAL_SERVICE_UNAVAILABLE",
  EmbedderUnavailable: "EXTERNAL_SERVICE_UNAVAILABLE",
  CapabilityUnavailable: "CAPABILITY_UNAVAILABLE",
  RouteNotFound: "NOT_FOUND",
  StorageError: "INTERNAL_ERROR"
}

const INTERNAL = failure("INTERNAL_ERROR", "internal error", true)

const isKnown = (error: unknown): error is KnownError =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string" &&
  Object.hasOwn(CODE_OF, error._tag)

/** A typed failure of a handler or of the edge. */
export const describeError = (error: unknown): ApiFailure => {
  if (!isKnown(error)) return INTERNAL
  const code = CODE_OF[error._tag]
  switch (error._tag) {
    case "HttpApiDecodeError":
      return failure(code, decodeFailureMessage(error))
    case "RouteNotFound":
      return failure(code, "no such route")
    default:
      return code === "INTERNAL_ERROR" ? INTERNAL : failure(code, error.message)
  }
}

/** Reading the body failed: too large, not JSON, or the client went away. */
const fromRequestError = (error: HttpServerError.RequestError): ApiFailure => {
  const cause = error.cause
  if (cause instanceof Error && cause.message === "maxBytes exceeded") {
    return failure("PAYLOAD_TOO_LARGE", "request body exceeds the configured limit")
  }
  if (cause instanceof SyntaxError) return failure("BAD_REQUEST", "request body is not valid JSON")
  return failure("BAD_REQUEST", "request body could not be read")
}

/** The one place where every error of the HTTP edge becomes a status, a code and a message. */
export const describeCause = (cause: Cause.Cause<unknown>): ApiFailure => {
  const failed = Cause.failureOption(cause)
  if (Option.isSome(failed)) return describeError(failed.value)
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect) && HttpServerError.isServerError(defect.value) && defect.value._tag === "RequestError") {
    return fromRequestError(defect.value)
  }
  // The client went away (or the server is stopping) before the answer: nobody is failing, so no
  // error log line, which a client could otherwise produce at will by hanging up.
  if (Cause.isInterruptedOnly(cause)) return failure("BAD_REQUEST", "request cancelled before it completed")
  return failure("INTERNAL_ERROR", "internal error", true)
}
