import { HttpServer } from "@effect/platform"
import { Duration, Effect, Layer } from "effect"
import { httpServerLayer } from "../../src/Http/Server.js"
import { configLayer, memoryTestLayer, type MemoryTestOptions, textServices } from "./MemoryTestLayer.js"

/** The real HTTP stack on a free loopback port over the in-memory test Memory (fake model). */
export const httpTestLayer = (options: MemoryTestOptions & { readonly maxBodyBytes?: number }) =>
  httpServerLayer({
    host: "127.0.0.1",
    port: 0,
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    shutdownTimeout: Duration.seconds(2)
  }).pipe(
    Layer.provideMerge(memoryTestLayer(options)),
    Layer.provide(textServices),
    Layer.provide(configLayer(options.env))
  )

/** Base URL of the test server. */
export const baseUrl = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return `http://127.0.0.1:${address.port}`
})

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
  readonly text: string
}

/** One request with fetch; the body is parsed as JSON when it is JSON. */
export const request = (url: string, init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) =>
  Effect.promise(async (): Promise<Reply> => {
    const response = await fetch(url, {
      method: init.method ?? (init.body !== undefined || init.raw !== undefined ? "POST" : "GET"),
      headers: { "content-type": "application/json", ...init.headers },
      ...(init.raw !== undefined ? { body: init.raw } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {})
    })
    const text = await response.text()
    let body: unknown = undefined
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    return { status: response.status, headers: response.headers, body, text }
  })
