import { Headers, HttpApiBuilder, HttpIncomingMessage, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Cause, Clock, Effect, Metric, Option } from "effect"
import { randomBytes } from "node:crypto"
import { httpRequestDuration, httpRequests } from "../Observability/Metrics.js"
import type { Authorize } from "./Auth.js"
import { guardJsonBody } from "./BodyGuard.js"
import type { CorsPolicy } from "./Cors.js"
import { type AnyErrorEnvelope, type ErrorBody, ErrorStatus, REQUEST_ID_PATTERN } from "./Envelope.js"
import { type ApiFailure, describeCause, describeError, type HandlerError } from "./ErrorMapping.js"

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

/** The path as the client sent it (before the v1 alias is rewritten), for the error envelope. */
const REQUEST_PATH_HEADER = "x-engram-request-path"

/** The error envelope: built here, and only here, for the edge's and the handlers' failures alike. */
const errorEnvelope = (requestId: string, path: string, failure: ApiFailure) =>
  Effect.map(Clock.currentTimeMillis, (now): ErrorBody => ({
    request_id: requestId,
    error: { code: failure.code, message: failure.message, timestamp: new Date(now).toISOString(), path }
  }))

/**
 * A handler's failure, already its envelope (only `request_id` and `error` are serialised); the
 * edge recognises it by class and answers it as it is.
 */
class HandlerFailure implements ErrorBody {
  readonly request_id: string
  readonly error: ErrorBody["error"]
  readonly #failure: ApiFailure
  constructor(body: ErrorBody, failure: ApiFailure) {
    this.request_id = body.request_id
    this.error = body.error
    this.#failure = failure
  }
  get status() {
    return this.#failure.status
  }
  get log() {
    return this.#failure.log
  }
}

const isHandlerFailure = (error: unknown): error is HandlerFailure => error instanceof HandlerFailure

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
      const request = original.modify({
        url,
        headers: Headers.setAll(original.headers, { [REQUEST_ID_HEADER]: requestId, [REQUEST_PATH_HEADER]: pathOf(original.url) })
      })

      const errorResponse = (failure: ApiFailure) =>
        Effect.map(errorEnvelope(requestId, pathOf(original.url), failure), (body) => HttpServerResponse.unsafeJson(body, { status: failure.status }))

      const logFailure = (cause: Cause.Cause<unknown>) =>
        Effect.logError("request failed", cause).pipe(Effect.annotateLogs({ request_id: requestId, method: original.method, path }))

      const declaredLength = Number(original.headers["content-length"] ?? "0")
      const preflight = options.cors === undefined ? Option.none() : options.cors.preflight(original.method, original.headers)
      const authorize = options.authorize === undefined ? Effect.void : options.authorize(path, original.headers["authorization"])
      // Auth first, so nobody without the token makes the server read a body; then the body checks.
      const authorizedApp = authorize.pipe(Effect.zipRight(guardJsonBody(request)), Effect.zipRight(app))
      const response = Option.isSome(preflight)
        ? preflight.value
        : Number.isFinite(declaredLength) && declaredLength > options.maxBodyBytes
        ? yield* errorResponse({
          status: ErrorStatus.PAYLOAD_TOO_LARGE,
          code: "PAYLOAD_TOO_LARGE",
          message: `request body exceeds the limit of ${options.maxBodyBytes} bytes`,
          log: false
        })
        : yield* authorizedApp.pipe(
          Effect.provideService(HttpServerRequest.HttpServerRequest, request),
          HttpIncomingMessage.withMaxBodySize(Option.some(options.maxBodyBytes)),
          Effect.catchAllCause((cause) =>
            Effect.gen(function*() {
              const handled = Option.filter(Cause.failureOption(cause), isHandlerFailure)
              if (Option.isSome(handled)) {
                if (handled.value.log) yield* logFailure(cause)
                return HttpServerResponse.unsafeJson(handled.value, { status: handled.value.status })
              }
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
              if (failure.log) yield* logFailure(cause)
              const response = yield* errorResponse(failure)
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

/**
 * `{request_id, data}` around a handler's result. A failure (only the errors the mapping knows)
 * becomes its envelope once, here, with the path the client sent; the edge answers it unchanged.
 */
export const enveloped = <A, E extends HandlerError, R>(data: Effect.Effect<A, E, R>) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const request_id = request.headers[REQUEST_ID_HEADER] ?? randomBytes(16).toString("hex")
    return data.pipe(
      Effect.map((value) => ({ request_id, data: value })),
      Effect.catchAll((error) => {
        const failure = describeError(error)
        return Effect.flatMap(
          errorEnvelope(request_id, request.headers[REQUEST_PATH_HEADER] ?? pathOf(request.url), failure),
          // Typed as the declared envelope it is: the API's error schemas are per code, so no one
          // type covers an envelope whose code is only known at run time.
          (body) => Effect.fail(new HandlerFailure(body, failure) as AnyErrorEnvelope)
        )
      })
    )
  })
