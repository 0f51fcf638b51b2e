/**
 * The real HTTP stack on a file database (Postgres when ENGRAM_DATABASE_URL is set), for bench/http.ts: with an instant fake model
 * ("instant"), or as `engram serve` runs with no LLM configured ("offline": local boundary
 * detector and extractors, background extraction, no embedder).
 * argv: <port> <data dir> [instant|offline]. Prints "ready" when listening.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Duration, Effect, Layer, Redacted } from "effect"
import * as Path from "node:path"
import { makeEngram } from "../src/Engram.js"
import { httpServerLayer } from "../src/Http/Server.js"
import * as Database from "../src/Storage/Database.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "../test/support/MemoryTestLayer.js"

const [port, dataDir, mode = "instant"] = process.argv.slice(2)

/** Closes everything but the last message: the buffer stays small and every add commits a memcell. */
const instantModel = (request: { messages: ReadonlyArray<{ content: string }> }) => {
  const n = request.messages[1]!.content.split("\n").filter((l) => /^\[\d+\]/.test(l)).length
  return boundaryAnswer([n - 1])
}

const database = process.env.ENGRAM_DATABASE_URL === undefined ? Database.layerFile(Path.join(dataDir!, "engram.db")) : Database.layerPostgres(Redacted.make(process.env.ENGRAM_DATABASE_URL))
const app = mode === "offline"
  ? makeEngram({ database, embedder: "none", background: true })
  : memoryTestLayer({ llm: instantModel, database }).pipe(Layer.provide(textServices))

const server = httpServerLayer({ host: "127.0.0.1", port: Number(port), maxBodyBytes: 8 * 1024 * 1024, shutdownTimeout: Duration.seconds(5) }).pipe(
  Layer.provide(app)
)

NodeRuntime.runMain(
  Layer.launch(Layer.effectDiscard(Effect.sync(() => console.log("ready"))).pipe(Layer.provideMerge(server)))
)
