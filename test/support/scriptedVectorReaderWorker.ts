/**
 * A stand-in for VectorReaderWorker speaking its protocol, for tests of the thread handling: every
 * read answers one neighbour whose item_key is the thread's id. Owners steer it: "crash" exits the
 * thread, "hang" never answers, "throw" answers Failed.
 */
import { parentPort, threadId } from "node:worker_threads"
import type { ReaderAnswer, ReaderRequest } from "../../src/Indexing/VectorReaderProtocol.js"

const port = parentPort!
const post = (answer: ReaderAnswer) => port.postMessage(answer)

post({ _tag: "Ready" })
port.on("message", (request: ReaderRequest) => {
  if (request.owner === "crash") process.exit(3)
  if (request.owner === "hang") return
  if (request.owner === "throw") return post({ _tag: "Failed", id: request.id, reason: "scripted failure" })
  post({ _tag: "Neighbours", id: request.id, neighbours: [{ item_key: threadId, distance: 0 }] })
})
