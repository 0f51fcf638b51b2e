import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Forget } from "../Reading/Forget.js"
import { MemoryReader } from "../Reading/MemoryReader.js"
import { EngramApi } from "./Api.js"
import { enveloped } from "./Middleware.js"

/**
 * Handlers of the read group (get, delete). Both services need only the database, so the group
 * brings its own layers and any memory layer can serve it.
 */
export const ReadHttpLive = HttpApiBuilder.group(EngramApi, "read", (handlers) =>
  Effect.gen(function*() {
    const reader = yield* MemoryReader
    const forget = yield* Forget
    return handlers
      .handle("get", ({ payload }) => enveloped(reader.get(payload)))
      .handle("delete", ({ payload }) => enveloped(forget.delete(payload)))
  })
).pipe(Layer.provide([MemoryReader.Default, Forget.Default]))
