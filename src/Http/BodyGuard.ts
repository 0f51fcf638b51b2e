import type { HttpServerRequest } from "@effect/platform"
import { Effect, Schema } from "effect"

/**
 * Checks on a request body before any route decodes it. Only JSON is accepted (the framework
 * would otherwise parse forms, or persist multipart uploads to disk), and JSON may nest only so
 * deep: validating or formatting an error about a value nested 100,000 levels deep overflows the
 * stack, which would turn a hostile body into a 500.
 */

/** Far deeper than any message, tool call or filter needs; shallow enough for every recursive step. */
export const MAX_JSON_DEPTH = 64

export class UnsupportedContentType extends Schema.TaggedError<UnsupportedContentType>()("UnsupportedContentType", {
  content_type: Schema.String
}) {
  override get message() {
    return `content-type '${this.content_type.slice(0, 100)}' is not supported; send application/json`
  }
}

export class BodyTooDeep extends Schema.TaggedError<BodyTooDeep>()("BodyTooDeep", {
  max_depth: Schema.Number
}) {
  override get message() {
    return `request body nests deeper than ${this.max_depth} levels`
  }
}

/**
 * Exactly the test the routes use to read a body as JSON. Anything else they would read as raw
 * bytes from a stream this guard has already consumed, so it must be refused here.
 */
const isJsonContentType = (contentType: string) => contentType.toLowerCase().trim().includes("application/json")

/** Whether `text` (JSON or not) opens more than `maxDepth` arrays/objects at once; brackets inside strings do not count. */
export const nestsDeeperThan = (text: string, maxDepth: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) return true
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--
  }
  return false
}

const hasBody = (request: HttpServerRequest.HttpServerRequest) =>
  request.headers["transfer-encoding"] !== undefined || Number(request.headers["content-length"] ?? "0") > 0

/**
 * Refuses a non-JSON body (415) and JSON nested deeper than MAX_JSON_DEPTH (400). Reads the body
 * through the request's cached text, so the route's own decoding reads it no second time; a read
 * failure (too large, client gone) stays the defect the edge already maps.
 */
export const guardJsonBody = (
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<void, UnsupportedContentType | BodyTooDeep> => {
  if (request.method === "GET" || request.method === "HEAD" || request.method === "OPTIONS" || !hasBody(request)) {
    return Effect.void
  }
  const contentType = request.headers["content-type"]
  // No content-type at all is read as JSON, as the routes do.
  if (contentType !== undefined && !isJsonContentType(contentType)) {
    return Effect.fail(new UnsupportedContentType({ content_type: contentType }))
  }
  return Effect.flatMap(Effect.orDie(request.text), (text) =>
    nestsDeeperThan(text, MAX_JSON_DEPTH) ? Effect.fail(new BodyTooDeep({ max_depth: MAX_JSON_DEPTH })) : Effect.void)
}
