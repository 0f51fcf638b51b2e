import { Duration, Effect, Schema } from "effect"

/**
 * One HTTP request that may legitimately fail at the transport level (the server was killed, the
 * connection was cut): unlike `HttpTestServer.request` it fails with `CallFailed` instead of dying,
 * and it is bounded by a timeout.
 */

export class CallFailed extends Schema.TaggedError<CallFailed>()("CallFailed", {
  url: Schema.String,
  reason: Schema.String
}) {}

export interface CallReply {
  readonly status: number
  readonly headers: Headers
  /** Parsed JSON, or undefined when the body is not JSON. */
  readonly body: any
  readonly text: string
}

export interface CallInit {
  readonly method?: string
  /** Sent as JSON. */
  readonly json?: unknown
  /** Sent as is (string, bytes, or a stream: chunked, without content-length). */
  readonly raw?: string | Uint8Array | ReadableStream<Uint8Array>
  readonly headers?: Readonly<Record<string, string>>
  readonly timeout?: Duration.DurationInput
}

export const call = (url: string, init: CallInit = {}): Effect.Effect<CallReply, CallFailed> =>
  Effect.tryPromise({
    try: async (signal) => {
      const body = init.raw ?? (init.json === undefined ? undefined : JSON.stringify(init.json))
      const response = await fetch(url, {
        method: init.method ?? (body === undefined ? "GET" : "POST"),
        headers: { "content-type": "application/json", ...init.headers },
        signal: AbortSignal.any([signal, AbortSignal.timeout(Duration.toMillis(init.timeout ?? Duration.seconds(30)))]),
        ...(body === undefined ? {} : { body }),
        ...(body instanceof ReadableStream ? { duplex: "half" } : {})
      })
      const text = await response.text()
      let parsed: unknown = undefined
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = undefined
      }
      return { status: response.status, headers: response.headers, body: parsed, text }
    },
    catch: (error) =>
      new CallFailed({
        url,
        reason: error instanceof Error ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ""}` : String(error)
      })
  })
