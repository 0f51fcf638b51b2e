import { HttpApiError, HttpServerError } from "@effect/platform"
import { Cause, Option } from "effect"
import { type ErrorCode, ErrorStatus, isErrorBody } from "./Envelope.js"

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

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && typeof (error as { _tag?: unknown })._tag === "string"
    ? (error as { _tag: string })._tag
    : undefined

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string"
    ? (error as { message: string }).message
    : String(error)

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

/** A typed failure of a handler or of request decoding. */
export const describeError = (error: unknown): ApiFailure => {
  if (isErrorBody(error)) return failure(error.error.code, error.error.message)
  switch (tagOf(error)) {
    case "HttpApiDecodeError":
      return failure("INVALID_INPUT", decodeFailureMessage(error as HttpApiError.HttpApiDecodeError))
    case "InvalidRequest":
      return failure("INVALID_INPUT", messageOf(error))
    case "MessageIdConflict":
      return failure("CONFLICT", messageOf(error))
    case "NotFound":
      return failure("NOT_FOUND", messageOf(error))
    case "Unauthorized":
      return failure("UNAUTHORIZED", messageOf(error))
    case "UnsupportedContentType":
      return failure("UNSUPPORTED_FORMAT", messageOf(error))
    case "BodyTooDeep":
      return failure("BAD_REQUEST", messageOf(error))
    case "SessionLockTimeout":
    case "CommitContention":
    case "LlmUnavailable":
    case "LlmMalformedAnswer":
    case "EmbedderUnavailable":
      // Retryable: the messages are stored; a retry of the same request is a no-op plus a new attempt.
      return failure("EXTERNAL_SERVICE_UNAVAILABLE", messageOf(error))
    case "CapabilityUnavailable":
      return failure("CAPABILITY_UNAVAILABLE", messageOf(error))
    case "RouteNotFound":
      return failure("NOT_FOUND", "no such route")
    default:
      return failure("INTERNAL_ERROR", "internal error", true)
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
