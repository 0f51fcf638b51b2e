import { Duration } from "effect"
import { randomBytes } from "node:crypto"
import type * as Http from "node:http"
import type * as Net from "node:net"
import type { ErrorBody, ErrorCode } from "./Envelope.js"
import { ErrorStatus } from "./Envelope.js"

/**
 * Protection below the routes: a client that sends its headers or body too slowly (slowloris) is
 * cut after the read timeout, and requests that never reach a handler (timed out, malformed HTTP,
 * oversized headers) still get the error envelope instead of Node's bare status line.
 */

/** `Http.createServer` options bounding how long receiving one request (headers plus body) may take. */
export const readTimeoutOptions = (requestTimeout: Duration.Duration): Http.ServerOptions => {
  const requestMs = Math.max(1, Math.round(Duration.toMillis(requestTimeout)))
  return {
    requestTimeout: requestMs,
    // Node requires headersTimeout <= requestTimeout; headers are small, 10 s is plenty.
    headersTimeout: Math.min(requestMs, 10_000),
    // Node checks both timeouts on this period (default 30 s), so it bounds how late a slow sender is cut.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestMs / 4)))
  }
}

const STATUS_TEXT: Partial<Record<number, string>> = { 400: "Bad Request", 408: "Request Timeout", 413: "Payload Too Large" }

const rawEnvelope = (code: ErrorCode, message: string): string => {
  const status = ErrorStatus[code]
  const body = JSON.stringify({
    request_id: randomBytes(16).toString("hex"),
    error: { code, message, timestamp: new Date().toISOString(), path: "" }
  } satisfies ErrorBody)
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${
    Buffer.byteLength(body)
  }\r\nconnection: close\r\n\r\n${body}`
}

const answerFor = (code: string | undefined, requestMs: number): string | undefined => {
  switch (code) {
    case "ECONNRESET":
      // The client is gone: nobody to answer.
      return undefined
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return rawEnvelope("REQUEST_TIMEOUT", `request not received completely within ${requestMs} ms`)
    case "HPE_HEADER_OVERFLOW":
      return rawEnvelope("BAD_REQUEST", "request headers exceed the size limit")
    default:
      return rawEnvelope("BAD_REQUEST", "malformed HTTP request")
  }
}

/**
 * Answers Node's `clientError`s with the envelope (when no response has started on the socket),
 * then closes the connection. Nothing about the request is logged: it may hold anything.
 */
export const answerClientErrors = (server: Http.Server, requestTimeout: Duration.Duration): void => {
  const requestMs = Math.round(Duration.toMillis(requestTimeout))
  server.on("clientError", (error: Error & { code?: string }, socket: Net.Socket) => {
    const inFlight = (socket as Net.Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    const answer = socket.writable && inFlight?.headersSent !== true ? answerFor(error.code, requestMs) : undefined
    if (answer === undefined) return socket.destroy()
    socket.end(answer, () => socket.destroy())
    // A peer that never reads must not keep the socket open either.
    setTimeout(() => socket.destroy(), 1000).unref()
  })
}
