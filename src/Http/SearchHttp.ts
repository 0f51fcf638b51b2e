import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Search } from "../Search/Search.js"
import { EngramApi } from "./Api.js"
import { enveloped } from "./Middleware.js"

/**
 * Handler of the search group: the decoded request goes straight to the Search service. The group
 * brings Search (it needs only the database), so any memory layer can serve it.
 */
export const SearchHttpLive = HttpApiBuilder.group(EngramApi, "search", (handlers) =>
  Effect.gen(function*() {
    const search = yield* Search
    return handlers.handle("search", ({ payload }) => enveloped(search.search(payload)))
  })
).pipe(Layer.provide(Search.layerOnDatabase))
