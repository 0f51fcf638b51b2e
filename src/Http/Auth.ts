import { Effect, Option, Redacted, Schema } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"

/** The request carried no bearer token, or not the configured one. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/**
 * Paths that never need the token: liveness (for load balancers and orchestrators) and the API
 * description (it holds no data, and Swagger UI in a browser cannot send the token to load it).
 */
const isOpenPath = (path: string) => path === "/health" || path === "/openapi.json" || path === "/docs" || path.startsWith("/docs/")

const BEARER = /^Bearer +(\S+) *$/i

/** Hashing both sides gives equal-length inputs, so `timingSafeEqual` hides the key's length too. */
const digest = (text: string) => createHash("sha256").update(text, "utf8").digest()

/** Checks one request: its path (without query) and its `authorization` header. */
export type Authorize = (path: string, authorization: string | undefined) => Effect.Effect<void, Unauthorized>

/**
 * Optional bearer-token auth (ENGRAM_API_KEY). With no key every request passes; with a key every
 * path except the open ones needs `Authorization: Bearer <key>`, compared in constant time.
 * Neither the expected nor the presented token ever appears in an error or a log line.
 */
export const makeBearerAuth = (apiKey: Option.Option<Redacted.Redacted>): Authorize => {
  if (Option.isNone(apiKey)) return () => Effect.void
  const expected = digest(Redacted.value(apiKey.value))
  return (path, authorization) => {
    if (isOpenPath(path)) return Effect.void
    if (authorization === undefined || authorization.trim().length === 0) {
      return Effect.fail(new Unauthorized({ reason: "missing bearer token: send Authorization: Bearer <ENGRAM_API_KEY>" }))
    }
    const token = BEARER.exec(authorization)?.[1]
    // Compare even a malformed header, so a bad scheme costs the same time as a wrong key.
    const matches = timingSafeEqual(digest(token ?? authorization), expected)
    return matches && token !== undefined ? Effect.void : Effect.fail(new Unauthorized({ reason: "invalid bearer token" }))
  }
}
