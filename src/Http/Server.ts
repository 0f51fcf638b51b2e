import { HttpApiBuilder, HttpApiSwagger, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Duration, Effect, Layer, Option } from "effect"
import * as Http from "node:http"
import { type ServerSettings, ServerSettingsConfig } from "../Config/EngramConfig.js"
import { MCP_PATH, McpHttpLive } from "../Mcp/McpLive.js"
import { EngramApi } from "./Api.js"
import { makeBearerAuth } from "./Auth.js"
import { makeCorsPolicy } from "./Cors.js"
import { JobsHttpLive } from "./JobsHttp.js"
import { MemoryHttpLive } from "./MemoryHttp.js"
import { EventLoopMonitor } from "../Observability/EventLoop.js"
import { edgeMiddleware } from "./Middleware.js"
import { ReadHttpLive } from "./ReadHttp.js"
import { SearchHttpLive } from "./SearchHttp.js"
import { answerClientErrors, readTimeoutOptions } from "./SlowClients.js"
import { SystemHttpLive } from "./SystemHttp.js"

/** Method and path of every declared endpoint, for telling 404 from 405. */
const declaredRoutes = [
  ...Object.values(EngramApi.groups).flatMap((group) =>
    Object.values(group.endpoints).map((endpoint) => ({ method: endpoint.method, path: endpoint.path }))
  ),
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/docs" },
  { method: "POST", path: MCP_PATH }
]

/** The API with its handlers, OpenAPI at /openapi.json and Swagger UI at /docs. */
export const ApiLive = HttpApiBuilder.api(EngramApi).pipe(Layer.provide([MemoryHttpLive, SystemHttpLive.pipe(Layer.provide(EventLoopMonitor.Default)), ReadHttpLive, JobsHttpLive, SearchHttpLive]))

/**
 * Stops accepting, then lets in-flight requests finish for up to `timeout` before connections are
 * cut. Built after the serving layer, so it is released first, while request fibers still run.
 */
const gracefulClose = (server: Http.Server, timeout: Duration.Duration) =>
  Layer.scopedDiscard(
    Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        if (!server.listening) return resume(Effect.void)
        server.close(() => resume(Effect.void))
      }).pipe(
        Effect.timeout(timeout),
        Effect.catchAll(() =>
          Effect.logWarning("shutdown timeout reached; closing remaining connections").pipe(
            Effect.zipRight(Effect.sync(() => server.closeAllConnections()))
          )
        )
      )
    )
  )

/** The HTTP server with `settings`, needing the memory layers (Memory, repos, detector). Port 0 picks a free port. */
export const httpServerLayer = (settings: ServerSettings) =>
  Layer.suspend(() => {
    const requestTimeout = settings.requestTimeout ?? Duration.seconds(30)
    const apiKey = settings.apiKey ?? Option.none()
    const server = Http.createServer(readTimeoutOptions(requestTimeout))
    answerClientErrors(server, requestTimeout)
    const serving = HttpApiBuilder.serve().pipe(
      Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
      Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
      Layer.provide(edgeMiddleware({
        maxBodyBytes: settings.maxBodyBytes,
        routes: declaredRoutes,
        authorize: makeBearerAuth(apiKey),
        cors: makeCorsPolicy(settings.corsOrigins ?? [])
      })),
      Layer.provide(ApiLive),
      // MCP on the API's router, so the edge middleware above wraps it too.
      Layer.provide(McpHttpLive),
      HttpServer.withLogAddress,
      Layer.provideMerge(NodeHttpServer.layer(() => server, { host: settings.host, port: settings.port }))
    )
    const warnings = settings.host === "0.0.0.0" || settings.host === "::"
      ? Layer.effectDiscard(Effect.logWarning(
        Option.isSome(apiKey)
          ? `listening on all interfaces (${settings.host}); requests need the bearer token (ENGRAM_API_KEY), traffic is not encrypted: put TLS in front`
          : `listening on all interfaces (${settings.host}); anyone who can reach this host can read and write memory (set ENGRAM_API_KEY)`
      ))
      : Layer.empty
    return gracefulClose(server, settings.shutdownTimeout).pipe(Layer.provideMerge(serving), Layer.provideMerge(warnings))
  })

/** The HTTP server on ENGRAM_HOST:ENGRAM_PORT. */
export const HttpServerLive = Layer.unwrapEffect(Effect.map(ServerSettingsConfig, httpServerLayer))
