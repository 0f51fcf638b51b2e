import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Search } from "../Search/Search.js"
import { EngramApi } from "./Api.js"
import { enveloped } from "./Middleware.js"

/** Handler of the search group: the decoded request goes straight to the Search service. */
export const SearchHttpLive = HttpApiBuilder.group(EngramApi, "search", (handlers) =>
  Effect.gen(function*() {
    const search = yield* Search
    return handlers.handle("search", ({ payload }) => enveloped(search.search(payload)))
  })
)
