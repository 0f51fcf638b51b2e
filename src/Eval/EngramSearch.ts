/**
 * Engram's `Search` service as the eval's search function: the eval's request is decoded through
 * the public `SearchRequest` schema (method left to its default: keyword when no embedder is
 * configured), so the eval asks exactly what any client could ask.
 */
import { Effect, Schema } from "effect"
import { SearchRequest } from "../Domain/SearchRequest.js"
import { firstIssue } from "../Domain/Validation.js"
import { Search } from "../Search/Search.js"
import type { EvalSearch } from "./EngramRetriever.js"

export class EvalSearchRequestInvalid extends Schema.TaggedError<EvalSearchRequestInvalid>()("EvalSearchRequestInvalid", {
  reason: Schema.String
}) {
  override get message() {
    return `the eval built an invalid search request: ${this.reason}`
  }
}

export const engramSearch = Effect.map(Search, (search) => {
  const run: EvalSearch<EvalSearchRequestInvalid | Effect.Effect.Error<ReturnType<typeof search.search>>> = (request) =>
    Schema.decodeUnknown(SearchRequest)(request).pipe(
      Effect.mapError((error) => new EvalSearchRequestInvalid({ reason: firstIssue(error).text })),
      Effect.flatMap(search.search)
    )
  return run
})
