import { Duration, Layer } from "effect"
import type { ServerSettings } from "../../src/Config/EngramConfig.js"
import { httpServerLayer } from "../../src/Http/Server.js"
import { configLayer, memoryTestLayer, type MemoryTestOptions, textServices } from "./MemoryTestLayer.js"

/**
 * Like `httpTestLayer`, with any server setting (auth, CORS, read timeout...) chosen by the test:
 * the real HTTP stack on a free loopback port over the in-memory test Memory.
 */
export const configuredHttpLayer = (server: Partial<ServerSettings>, memory: MemoryTestOptions) =>
  httpServerLayer({
    host: "127.0.0.1",
    port: 0,
    maxBodyBytes: 1024 * 1024,
    shutdownTimeout: Duration.seconds(2),
    ...server
  }).pipe(
    Layer.provideMerge(memoryTestLayer(memory)),
    Layer.provide(textServices),
    Layer.provide(configLayer(memory.env))
  )
