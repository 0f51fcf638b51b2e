import { Headers, HttpApiBuilder, HttpIncomingMessage, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Clock, Effect, Metric, Option } from "effect"
import { randomBytes } from "node:crypto"
import { httpRequestDuration, httpRequests } from "../Observability/Metrics.js"
import type { Authorize } from "./Auth.js"
import { guardJsonBody } from "./BodyGuard.js"
import type { CorsPolicy } from "./Cors.js"
import { type AnyErrorEnvelope, type ErrorBody, REQUEST_ID_PATTERN } from "./Envelope.js"
import { describeCause, describeError } from "./ErrorMapping.js"

export interface EdgeOptions {
  readonly maxBodyBytes: number
  /** Route templates (`/api/v2/memory/sessions/:session_id`) with their methods: to tell 404 from 405. */
  readonly routes: ReadonlyArray<{ readonly method: string; readonly path: string }>
  /** Bearer-token check, run before any handler; absent: every request passes. */
  readonly authorize?: Authorize
  /** Preflights are answered before auth; allowed origins get CORS headers on every answer. */
  readonly cors?: CorsPolicy
}

const templateToRegExp = (template: string) =>
  new RegExp(`^${template.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z_]+/g, "[^/]+")}$`)

/** The id a request is known by: the caller's if well-formed, else 32 fresh hex characters. */
const requestIdOf = (request: HttpServerRequest.HttpServerRequest): string => {
  const incoming = request.headers["x-request-id"]
  return incoming !== undefined && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomBytes(16).toString("hex")
}

export const REQUEST_ID_HEADER = "x-request-id"

/** `/api/v1/...` is an identical alias of `/api/v2/...`. */
const canonicalUrl = (url: string) => (url.startsWith("/api/v1/") ? `/api/v2/${url.slice("/api/v1/".length)}` : url)

const pathOf = (url: string) => url.split("?")[0] ?? url

/**
 * The HTTP edge, wrapped around every route (API, OpenAPI, docs): request ids, the v1 alias, the
 * body limit, and the one place where any failure becomes the error envelope. Request bodies are
 * never logged.
 */
export const edgeMiddleware = (options: EdgeOptions) => {
  const routes = options.routes.map((r) => ({ method: r.method.toUpperCase(), pattern: templateToRegExp(r.path), template: r.path }))
  const routeTemplate = (path: string) => routes.find((r) => r.pattern.test(path))?.template ?? "unmatched"
  const allowedMethods = (path: string) => routes.filter((r) => r.pattern.test(path)).map((r) => r.method)

  return HttpApiBuilder.middleware((app) =>
    Effect.gen(function*() {
      const original = yield* HttpServerRequest.HttpServerRequest
      const startedAt = yield* Clock.currentTimeMillis
      const requestId = requestIdOf(original)
      const url = canonicalUrl(original.url)
      const path = pathOf(url)
      const request = original.modify({ url, headers: Headers.set(original.headers, REQUEST_ID_HEADER, requestId) })

      const errorResponse = (status: number, code: ErrorBody["error"]["code"], message: string) =>
        Effect.map(Clock.currentTimeMillis, (now) =>
          HttpServerResponse.unsafeJson(
            {
              request_id: requestId,
              error: { code, message, timestamp: new Date(now).toISOString(), path: pathOf(original.url) }
            } satisfies ErrorBody,
            { status }
          ))

      const declaredLength = Number(original.headers["content-length"] ?? "0")
      const preflight = options.cors === undefined ? Option.none() : options.cors.preflight(original.method, original.headers)
      const authorize = options.authorize === undefined ? Effect.void : options.authorize(path, original.headers["authorization"])
      // Auth first, so nobody without the token makes the server read a body; then the body checks.
      const authorizedApp = authorize.pipe(Effect.zipRight(guardJsonBody(request)), Effect.zipRight(app))
      const response = Option.isSome(preflight)
        ? preflight.value
        : Number.isFinite(declaredLength) && declaredLength > options.maxBodyBytes
        ? yield* errorResponse(413, "PAYLOAD_TOO_LARGE", `request body exceeds the limit of ${options.maxBodyBytes} bytes`)
        : yield* authorizedApp.pipe(
          Effect.provideService(HttpServerRequest.HttpServerRequest, request),
          HttpIncomingMessage.withMaxBodySize(Option.some(options.maxBodyBytes)),
          Effect.catchAllCause((cause) =>
            Effect.gen(function*() {
              let failure = describeCause(cause)
              if (failure.code === "NOT_FOUND" && failure.message === "no such route") {
                const allowed = allowedMethods(path)
                if (allowed.length > 0) {
                  failure = {
                    ...failure,
                    status: 405,
                    code: "METHOD_NOT_ALLOWED",
                    message: `method ${original.method} not allowed; use ${allowed.join(", ")}`
                  }
                }
              }
              if (failure.log) {
                yield* Effect.logError("request failed", cause).pipe(
                  Effect.annotateLogs({ request_id: requestId, method: original.method, path })
                )
              }
              const response = yield* errorResponse(failure.status, failure.code, failure.message)
              return failure.code === "METHOD_NOT_ALLOWED"
                ? HttpServerResponse.setHeader(response, "allow", allowedMethods(path).join(", "))
                : failure.code === "UNAUTHORIZED"
                ? HttpServerResponse.setHeader(response, "www-authenticate", "Bearer realm=\"engram\"")
                : response
            })
          )
        )

      const route = routeTemplate(path)
      const seconds = ((yield* Clock.currentTimeMillis) - startedAt) / 1000
      yield* Metric.increment(Metric.tagged(Metric.tagged(httpRequests, "route", route), "status", String(response.status)))
      yield* Metric.update(Metric.tagged(httpRequestDuration, "route", route), seconds)
      const answered = options.cors === undefined ? response : options.cors.decorate(original.headers, response)
      return HttpServerResponse.setHeader(answered, REQUEST_ID_HEADER, requestId)
    })
  )
}

/** The request id the edge assigned (handlers put it in the success envelope). */
export const currentRequestId = Effect.map(
  HttpServerRequest.HttpServerRequest,
  (request) => request.headers[REQUEST_ID_HEADER] ?? randomBytes(16).toString("hex")
)

/**
 * `{request_id, data}` around a handler's result; a failure becomes its error envelope (through
 * the same mapping the edge uses), so handlers only ever fail with declared envelopes.
 */
export const enveloped = <A, E, R>(data: Effect.Effect<A, E, R>) =>
  Effect.flatMap(currentRequestId, (request_id) =>
    data.pipe(
      Effect.map((value) => ({ request_id, data: value })),
      Effect.catchAll((error) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const failure = describeError(error)
          return Effect.fail({
            request_id,
            error: { code: failure.code, message: failure.message, timestamp: new Date(now).toISOString(), path: "" }
          } as AnyErrorEnvelope)
        })
      )
    ))
