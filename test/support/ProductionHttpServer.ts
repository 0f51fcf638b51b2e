import type { SqlClient } from "@effect/sql"
import { Duration, Layer } from "effect"
import { makeEngram } from "../../src/Engram.js"
import { httpServerLayer } from "../../src/Http/Server.js"
import * as Database from "../../src/Storage/Database.js"
import { configLayer, TRACKS_OFF } from "./MemoryTestLayer.js"

/**
 * What `engram serve` runs (the HTTP server over memory, the model services chosen by config, the
 * extraction workers), in-process on a free loopback port and a private in-memory database (or `database`), with
 * every setting from `env` (ENGRAM_* names; the profile and agent tracks off unless `env` turns them on). Point ENGRAM_LLM_BASE_URL at a FakeLlmServer to test
 * the real OpenAI client path.
 */
export const productionHttpLayer = (
  env: Record<string, string>,
  database: Layer.Layer<SqlClient.SqlClient> = Database.layerMemory
) =>
  httpServerLayer({ host: "127.0.0.1", port: 0, maxBodyBytes: 1024 * 1024, shutdownTimeout: Duration.seconds(2) }).pipe(
    Layer.provideMerge(makeEngram({ database, background: true })),
    Layer.provide(configLayer({ ...TRACKS_OFF, ...env }))
  )
