/**
 * A stand-in for LocalEmbedderWorker speaking its protocol, for tests of the thread handling:
 * 4-dimensional vectors [thread id, call number on this thread, text length, 0]. Texts steer it:
 * "crash" exits the thread, "hang" never answers, "throw" answers Failed, and "gate:<path>" waits
 * until the file at <path> exists before answering.
 */
import * as Fs from "node:fs"
import { parentPort, threadId } from "node:worker_threads"
import type { WorkerAnswer } from "../../src/Llm/LocalEmbedder.js"

const port = parentPort!
const post = (answer: WorkerAnswer) => port.postMessage(answer)
const DIMENSIONS = 4
let calls = 0

const opened = (path: string) =>
  new Promise<void>((resolve) => {
    const poll = () => (Fs.existsSync(path) ? resolve() : setTimeout(poll, 10))
    poll()
  })

post({ _tag: "Ready", dimensions: DIMENSIONS })
port.on("message", async (request: { id: number; texts: Array<string> }) => {
  const call = calls++
  if (request.texts.includes("crash")) process.exit(3)
  if (request.texts.includes("hang")) return
  if (request.texts.includes("throw")) return post({ _tag: "Failed", id: request.id, reason: "scripted failure" })
  for (const text of request.texts) if (text.startsWith("gate:")) await opened(text.slice(5))
  const vectors = new Float32Array(request.texts.length * DIMENSIONS)
  request.texts.forEach((text, i) => vectors.set([threadId, call, text.length, 0], i * DIMENSIONS))
  post({ _tag: "Embedded", id: request.id, count: request.texts.length, vectors })
})
