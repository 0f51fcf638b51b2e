/**
 * Worker-thread entry of the vector reader (VectorReader.ts): opens its own read-only connection to
 * the database file (WAL lets it read beside the writer), with sqlite-vec, says `Ready`, then
 * answers `nearest` reads one at a time with the store's own SQL (`readNearest`). Requests are
 * decoded with Schema; the parent decodes every answer too.
 */
import { SqlClient } from "@effect/sql"
import { Cause, Effect, Either, Queue, Schema } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import * as Database from "../Storage/Database.js"
import { readNearest } from "./SqliteNearest.js"
import { type ReaderAnswer, ReaderRequest, ReaderStart } from "./VectorReaderProtocol.js"

const port = parentPort
if (port === null) throw new Error("VectorReaderWorker.ts runs only as a worker thread")

const post = (answer: ReaderAnswer) => port.postMessage(answer)
const decodeRequest = Schema.decodeUnknownEither(ReaderRequest)

const serve = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // Without sqlite-vec there is nothing to answer: say so at once (the parent reads in-process).
  yield* sql`SELECT vec_version() AS version`
  const requests = yield* Queue.unbounded<unknown>()
  port.on("message", (message: unknown) => requests.unsafeOffer(message))
  post({ _tag: "Ready" })
  return yield* Effect.forever(Effect.gen(function*() {
    const request = decodeRequest(yield* Queue.take(requests))
    if (Either.isLeft(request)) return post({ _tag: "Failed", id: -1, reason: "malformed request" })
    const { dimensions, exactScanLimit, id, k, owner, vector } = request.right
    const answer = yield* Effect.either(readNearest(sql, owner, vector, k, dimensions, exactScanLimit))
    post(
      Either.isRight(answer)
        ? { _tag: "Neighbours", id, neighbours: answer.right }
        : { _tag: "Failed", id, reason: answer.left.message }
    )
  }))
})

const start = Schema.decodeUnknownEither(Schema.Struct({ data: ReaderStart }))(workerData)
if (Either.isLeft(start)) {
  post({ _tag: "OpenFailed", reason: "the reader thread was started without a database file" })
} else {
  Effect.runFork(
    serve.pipe(
      Effect.provide(Database.layerReadOnlyFile(start.right.data.filename)),
      Effect.catchAllCause((cause) => Effect.sync(() => post({ _tag: "OpenFailed", reason: Cause.pretty(cause) })))
    )
  )
}
