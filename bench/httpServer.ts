/**
 * The real HTTP stack on a file database (Postgres when ENGRAM_DATABASE_URL is set), for bench/http.ts: with an instant fake model
 * ("instant"), or as `engram serve` runs with no LLM configured ("offline": local boundary
 * detector and extractors, background extraction, no embedder). Two ceilings for comparison:
 * "edge": the same server as "offline" whose Memory answers every add `accumulated` at once (the
 * HTTP layer's own cost: routing, body checks, request decoding, envelopes, metrics); "bare": the
 * HTTP stack with no Engram code at all (an @effect/platform router that reads the JSON body).
 * argv: <port> <data dir> [instant|offline|edge|bare]. Prints "ready" when listening.
 */
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Duration, Effect, Layer, Redacted } from "effect"
import * as Http from "node:http"
import * as Path from "node:path"
import { makeEngram } from "../src/Engram.js"
import { httpServerLayer } from "../src/Http/Server.js"
import { Memory } from "../src/Memorize/Memory.js"
import * as Database from "../src/Storage/Database.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "../test/support/MemoryTestLayer.js"

const [port, dataDir, mode = "instant"] = process.argv.slice(2)

/** Closes everything but the last message: the buffer stays small and every add commits a memcell. */
const instantModel = (request: { messages: ReadonlyArray<{ content: string }> }) => {
  const n = request.messages[1]!.content.split("\n").filter((l) => /^\[\d+\]/.test(l)).length
  return boundaryAnswer([n - 1])
}

const database = process.env.ENGRAM_DATABASE_URL === undefined ? Database.layerFile(Path.join(dataDir!, "engram.db")) : Database.layerPostgres(Redacted.make(process.env.ENGRAM_DATABASE_URL))
const offline = makeEngram({ database, embedder: "none", background: true })
/** Answers every add without storing it: what is left is the HTTP layer. */
const noMemory = Layer.succeed(Memory, Memory.make({
  add: (request) => Effect.succeed({ message_count: request.messages.length, status: "accumulated" as const, memcell_ids: [] }),
  flush: () => Effect.succeed({ status: "no_extraction" as const, memcell_ids: [] }),
  session: (key) => Effect.succeed({ ...key, buffered: [], memcells: [] })
}))
const app = mode === "offline"
  ? offline
  : mode === "edge"
  ? Layer.provideMerge(noMemory, offline)
  : memoryTestLayer({ llm: instantModel, database }).pipe(Layer.provide(textServices))

const settings = { host: "127.0.0.1", port: Number(port), maxBodyBytes: 8 * 1024 * 1024, shutdownTimeout: Duration.seconds(5) }
const bare = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/api/v2/memory/add",
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => request.json).pipe(
      Effect.flatMap(() => HttpServerResponse.json({ request_id: "0", data: { message_count: 1, status: "accumulated" } })),
      Effect.orDie
    )
  ),
  HttpServer.serve(),
  Layer.provide(NodeHttpServer.layer(() => Http.createServer(), { host: settings.host, port: settings.port }))
)
const server = mode === "bare" ? bare : httpServerLayer(settings).pipe(Layer.provide(app))

NodeRuntime.runMain(
  Layer.launch(Layer.effectDiscard(Effect.sync(() => console.log("ready"))).pipe(Layer.provideMerge(server)))
)
