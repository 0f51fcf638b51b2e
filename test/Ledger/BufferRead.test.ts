import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { IncomingMessage } from "../../src/Domain/Message.js"
import { LedgerRepo, type PreparedMessage } from "../../src/Ledger/LedgerRepo.js"
import { derivedMessageId, messageFingerprint } from "../../src/Ledger/MessageIdentity.js"
import { MemcellRepo } from "../../src/Memorize/MemcellRepo.js"
import * as Database from "../../src/Storage/Database.js"
import { GroupCommit } from "../../src/Storage/GroupCommit.js"
import { configLayer } from "../support/MemoryTestLayer.js"
import { BASE_TS, keyOf, userMessage } from "../support/Messages.js"

/**
 * The buffer read keeps decoded rows between reads and fetches only rows it has not seen. What it
 * answers must always be the ledger's buffer, whatever changed it (a commit, a delete, another
 * writer re-using a message id).
 */

const testLayer = Layer.mergeAll(LedgerRepo.Default, MemcellRepo.Default).pipe(
  Layer.provideMerge(GroupCommit.Default),
  Layer.provideMerge(Database.layerMemory),
  Layer.provide(configLayer()),
  Layer.orDie
)

const key = keyOf("buffered")

const prepared = (message: IncomingMessage): PreparedMessage => {
  const fingerprint = messageFingerprint(key, message)
  return { message_id: message.message_id ?? derivedMessageId(fingerprint), fingerprint, token_count: 3, message }
}

const contents = Effect.map(Effect.flatMap(LedgerRepo, (ledger) => ledger.buffer(key)), (rows) => rows.map((m) => [m.message_id, m.content]))

layer(testLayer)("LedgerRepo.buffer", (it) => {
  it.effect("answers the ledger's buffer in conversation order across commits, deletes and a re-used id", () =>
    Effect.gen(function*() {
      const ledger = yield* LedgerRepo
      const memcells = yield* MemcellRepo
      const sql = yield* SqlClient.SqlClient
      const message = (id: string, offset: number, content = `text of ${id}`) =>
        prepared(userMessage(0, "alice", BASE_TS + offset, { message_id: id, content }))

      yield* ledger.ingest(key, [message("a", 0), message("c", 2000), message("d", 3000)])
      expect(yield* contents).toEqual([["a", "text of a"], ["c", "text of c"], ["d", "text of d"]])
      // A later row with an earlier timestamp sorts into place.
      yield* ledger.ingest(key, [message("b", 1000)])
      expect((yield* contents).map(([id]) => id)).toEqual(["a", "b", "c", "d"])

      // A commit consumes two rows: they leave the buffer.
      yield* memcells.commit(key, [{ memcell_id: "cell-1", message_ids: ["a", "b"], sender_ids: ["alice"], timestamp: BASE_TS + 1000 }])
      expect((yield* contents).map(([id]) => id)).toEqual(["c", "d"])

      // Another writer deletes a row and stores the same id again with other content (a new row).
      yield* sql`DELETE FROM messages WHERE message_id = 'c'`
      expect((yield* contents).map(([id]) => id)).toEqual(["d"])
      yield* ledger.ingest(key, [message("c", 2500, "said again, differently")])
      expect(yield* contents).toEqual([["c", "said again, differently"], ["d", "text of d"]])

      // The boundary marks come with the same read.
      yield* memcells.commit(key, [], { seen: [{ message_id: "c", mark: "seen" }, { message_id: "d", mark: "topic_done" }] })
      const { marks, messages } = yield* ledger.bufferAndMarks(key)
      expect(messages.map((m) => m.message_id)).toEqual(["c", "d"])
      expect([...marks]).toEqual([["c", "seen"], ["d", "topic_done"]])
    }))
})
