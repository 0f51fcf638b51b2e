import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { SearchEntry } from "../Search/SearchEntry.js"
import { EngramApi } from "./Api.js"
import { enveloped } from "./Middleware.js"

/** Handler of the search group: the decoded request goes to SearchEntry (base, agentic, LLM rerank). */
export const SearchHttpLive = HttpApiBuilder.group(EngramApi, "search", (handlers) =>
  Effect.gen(function*() {
    const search = yield* SearchEntry
    return handlers.handle("search", ({ payload }) => enveloped(search.search(payload)))
  })
)
