/**
 * The real HTTP stack with an instant fake model on a file database, for bench/http.ts.
 * argv: <port> <data dir>. Prints "ready" when listening.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Duration, Effect, Layer } from "effect"
import * as Path from "node:path"
import { httpServerLayer } from "../src/Http/Server.js"
import * as Database from "../src/Storage/Database.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "../test/support/MemoryTestLayer.js"

const [port, dataDir] = process.argv.slice(2)

/** Closes everything but the last message: the buffer stays small and every add commits a memcell. */
const instantModel = (request: { messages: ReadonlyArray<{ content: string }> }) => {
  const n = request.messages[1]!.content.split("\n").filter((l) => /^\[\d+\]/.test(l)).length
  return boundaryAnswer([n - 1])
}

const server = httpServerLayer({ host: "127.0.0.1", port: Number(port), maxBodyBytes: 8 * 1024 * 1024, shutdownTimeout: Duration.seconds(5) }).pipe(
  Layer.provide(memoryTestLayer({ llm: instantModel, database: Database.layerFile(Path.join(dataDir!, "engram.db")) })),
  Layer.provide(textServices)
)

NodeRuntime.runMain(
  Layer.launch(Layer.effectDiscard(Effect.sync(() => console.log("ready"))).pipe(Layer.provideMerge(server)))
)
