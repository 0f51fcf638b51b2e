import { HttpApiBuilder } from "@effect/platform"
import { Duration, Effect } from "effect"
import { Memory } from "../Memorize/Memory.js"
import { toSessionView } from "../Memorize/SessionView.js"
import { EngramApi, type FlushPayload } from "./Api.js"
import { enveloped } from "./Middleware.js"

/** Flush as the contract words it (HTTP and MCP): `wait` without a timeout waits up to ENGRAM_FLUSH_WAIT_MAX. */
export const flushPerContract = (memory: Memory, { wait, wait_timeout_ms, ...request }: typeof FlushPayload.Type) =>
  Effect.map(
    // Without a timeout the wait runs to ENGRAM_FLUSH_WAIT_MAX (Memory caps every wait with it).
    memory.flush(request, wait === true ? { wait: wait_timeout_ms ?? Duration.infinity } : {}),
    ({ extraction_complete, status }) => (extraction_complete === undefined ? { status } : { status, extraction_complete })
  )

/** Handlers of the memory group: thin translations between the contract and the Memory service. */
export const MemoryHttpLive = HttpApiBuilder.group(EngramApi, "memory", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers
      .handle("add", ({ payload }) =>
        enveloped(Effect.map(memory.add(payload), ({ message_count, status }) => ({ message_count, status }))))
      .handle("flush", ({ payload }) => enveloped(flushPerContract(memory, payload)))
      .handle("session", ({ path, urlParams }) =>
        enveloped(
          Effect.map(memory.session({ ...urlParams, session_id: path.session_id }), toSessionView)
        ))
  })
)
