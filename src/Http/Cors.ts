import { HttpServerResponse } from "@effect/platform"
import { Option } from "effect"

/**
 * Cross-origin access for browser clients (ENGRAM_CORS_ORIGINS). With no origins configured
 * (the default) nothing is added, so browsers on other origins cannot read any answer. Engram uses
 * no cookies, so credentials are never allowed; the bearer token travels in a header that the
 * preflight lets through.
 */
export interface CorsPolicy {
  /** The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`), before any auth. */
  readonly preflight: (method: string, headers: Readonly<Record<string, string | undefined>>) => Option.Option<HttpServerResponse.HttpServerResponse>
  /** Adds the CORS headers an allowed origin needs to any response, error envelopes included. */
  readonly decorate: (
    headers: Readonly<Record<string, string | undefined>>,
    response: HttpServerResponse.HttpServerResponse
  ) => HttpServerResponse.HttpServerResponse
}

const ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
const ALLOWED_HEADERS = "authorization, content-type, x-request-id"
const PREFLIGHT_MAX_AGE_SECONDS = "600"

/** `origins`: exact origins such as `https://app.example.com`, or `*` for any. */
export const makeCorsPolicy = (origins: ReadonlyArray<string>): CorsPolicy => {
  const any = origins.includes("*")
  const allowed = new Set(origins)
  const allowOrigin = (headers: Readonly<Record<string, string | undefined>>): Option.Option<string> => {
    const origin = headers["origin"]
    if (origin === undefined || origins.length === 0) return Option.none()
    return any ? Option.some("*") : allowed.has(origin) ? Option.some(origin) : Option.none()
  }
  const withOrigin = (response: HttpServerResponse.HttpServerResponse, origin: string) =>
    HttpServerResponse.setHeaders(response, {
      "access-control-allow-origin": origin,
      "access-control-expose-headers": "x-request-id",
      // The answer depends on the Origin header: caches must not hand it to another origin.
      ...(origin === "*" ? {} : { vary: "Origin" })
    })

  return {
    preflight: (method, headers) => {
      if (origins.length === 0 || method !== "OPTIONS" || headers["access-control-request-method"] === undefined) {
        return Option.none()
      }
      const empty = HttpServerResponse.empty({ status: 204 })
      // A disallowed origin gets a 204 without CORS headers: the browser then refuses the call.
      return Option.some(Option.match(allowOrigin(headers), {
        onNone: () => empty,
        onSome: (origin) =>
          HttpServerResponse.setHeaders(withOrigin(empty, origin), {
            "access-control-allow-methods": ALLOWED_METHODS,
            "access-control-allow-headers": ALLOWED_HEADERS,
            "access-control-max-age": PREFLIGHT_MAX_AGE_SECONDS
          })
      }))
    },
    decorate: (headers, response) =>
      Option.match(allowOrigin(headers), { onNone: () => response, onSome: (origin) => withOrigin(response, origin) })
  }
}
