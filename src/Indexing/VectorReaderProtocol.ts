import { Schema } from "effect"
import { NeighbourRows } from "./SqliteNearest.js"

/** What the vector reader thread is told and answers (VectorReader.ts, VectorReaderWorker.ts); each side decodes what it receives. */

/** One `nearest` read, with the arguments of `readNearest`. */
export const ReaderRequest = Schema.TaggedStruct("Nearest", {
  id: Schema.Int,
  owner: Schema.String,
  vector: Schema.instanceOf(Float32Array),
  k: Schema.Int,
  dimensions: Schema.Int,
  exactScanLimit: Schema.Int
})
export type ReaderRequest = typeof ReaderRequest.Type

export const ReaderAnswer = Schema.Union(
  Schema.TaggedStruct("Ready", {}),
  Schema.TaggedStruct("OpenFailed", { reason: Schema.String }),
  Schema.TaggedStruct("Neighbours", { id: Schema.Int, neighbours: NeighbourRows }),
  Schema.TaggedStruct("Failed", { id: Schema.Int, reason: Schema.String })
)
export type ReaderAnswer = typeof ReaderAnswer.Type

/** What the thread is started with (`workerData.data`). */
export const ReaderStart = Schema.Struct({ filename: Schema.String })
