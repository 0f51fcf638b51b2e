import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Memory } from "../../src/Memorize/Memory.js"
import { FakeLlm } from "../support/FakeLlm.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "../support/MemoryTestLayer.js"
import { addRequest, BASE_TS, locateIds, userMessage } from "../support/Messages.js"

const DAY = 86_400_000

// A change of calendar date closes the earlier day without asking anyone, so an add that runs the
// cycle over these messages always cuts; a deferred add must not.
const dayOne = [userMessage(1, "alice", BASE_TS, { message_id: "d-1" })]
const dayTwo = [userMessage(2, "alice", BASE_TS + DAY, { message_id: "d-2" })]
const later = [userMessage(3, "alice", BASE_TS + DAY + 60_000, { message_id: "d-3" })]

layer(textServices)("add with defer_extraction", (it) => {
  it.effect("stores the messages without cutting; a later add without it cuts, and no message is lost or duplicated", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const deferred = yield* memory.add({ ...addRequest("defer", [...dayOne, ...dayTwo]), defer_extraction: true })
      expect(deferred).toEqual({ message_count: 2, status: "accumulated", memcell_ids: [] })
      const afterDeferred = yield* locateIds(memory, "defer")
      expect(afterDeferred.memcells).toEqual([])
      expect(afterDeferred.buffered).toEqual(["d-1", "d-2"])
      // The cycle never ran: the model was not asked either.
      expect((yield* (yield* FakeLlm).calls).filter((c) => c.purpose === "boundary")).toEqual([])

      const cut = yield* memory.add(addRequest("defer", later))
      expect(cut.status).toBe("extracted")
      const afterCut = yield* locateIds(memory, "defer")
      expect(afterCut.memcells.map((c) => c.message_ids)).toEqual([["d-1"]])
      expect([...afterCut.all].sort()).toEqual(["d-1", "d-2", "d-3"])
    }).pipe(Effect.provide(memoryTestLayer({ llm: () => boundaryAnswer([]) }))))

  it.effect("a flush after deferred adds closes every deferred message", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      yield* memory.add({ ...addRequest("defer-flush", dayOne), defer_extraction: true })
      yield* memory.add({ ...addRequest("defer-flush", dayTwo), defer_extraction: true })
      expect((yield* locateIds(memory, "defer-flush")).memcells).toEqual([])
      expect((yield* memory.flush({ ...addRequest("defer-flush", []) })).status).toBe("extracted")
      const after = yield* locateIds(memory, "defer-flush")
      expect(after.buffered).toEqual([])
      expect([...after.all].sort()).toEqual(["d-1", "d-2"])
    }).pipe(Effect.provide(memoryTestLayer({ llm: () => boundaryAnswer([]) }))))
})

