import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Forget } from "../Reading/Forget.js"
import { MemoryReader } from "../Reading/MemoryReader.js"
import { EngramApi } from "./Api.js"
import { enveloped } from "./Middleware.js"

/** Handlers of the read group (get, delete). */
export const ReadHttpLive = HttpApiBuilder.group(EngramApi, "read", (handlers) =>
  Effect.gen(function*() {
    const reader = yield* MemoryReader
    const forget = yield* Forget
    return handlers
      .handle("get", ({ payload }) => enveloped(reader.get(payload)))
      .handle("delete", ({ payload }) => enveloped(forget.delete(payload)))
  })
)
