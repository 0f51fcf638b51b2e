import { HttpApiClient } from "@effect/platform"
import { EngramApi } from "./Api.js"

/**
 * A typed client of the Engram HTTP API for TypeScript hosts. Needs an `HttpClient` (e.g.
 * `FetchHttpClient.layer`); errors arrive as the declared error envelopes.
 *
 *   const client = yield* makeEngramClient("http://127.0.0.1:8000")
 *   yield* client.memory.add({ payload: { session_id: "s1", messages: [...] } })
 */
export const makeEngramClient = (baseUrl: string) => HttpApiClient.make(EngramApi, { baseUrl })
