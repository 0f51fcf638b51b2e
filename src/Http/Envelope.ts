import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/** `{request_id, data}`: every successful API answer. */
export const SuccessEnvelope = <A, I, R>(data: Schema.Schema<A, I, R>) =>
  Schema.Struct({ request_id: Schema.String, data })

/** Error codes of the HTTP contract and the status each maps to. */
export const ErrorStatus = {
  INVALID_INPUT: 422,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_FORMAT: 415,
  EXTRACTION_EMPTY: 422,
  EXTERNAL_SERVICE_UNAVAILABLE: 503,
  CAPABILITY_UNAVAILABLE: 503,
  CONFIGURATION_ERROR: 500,
  INTERNAL_ERROR: 500
} as const
export type ErrorCode = keyof typeof ErrorStatus

/** `{request_id, error: {code, message, timestamp, path}}` for one code, documented at its status. */
export const ErrorEnvelope = <C extends ErrorCode>(code: C) =>
  Schema.Struct({
    request_id: Schema.String,
    error: Schema.Struct({
      code: Schema.Literal(code),
      message: Schema.String,
      timestamp: Schema.String,
      path: Schema.String
    })
  }).annotations({ ...HttpApiSchema.annotations({ status: ErrorStatus[code] }), identifier: `Error_${code}` })

export interface ErrorBody {
  readonly request_id: string
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly timestamp: string; readonly path: string }
}

/** Well-formed incoming request ids are continued; anything else is replaced by a fresh one. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{8,128}$/

/** Any one of the declared error envelopes. */
export type AnyErrorEnvelope = { [C in ErrorCode]: ReturnType<typeof ErrorEnvelope<C>>["Type"] }[ErrorCode]
