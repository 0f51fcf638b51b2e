import { McpServer } from "@effect/ai"
import { HttpApiBuilder } from "@effect/platform"
import { NodeSink } from "@effect/platform-node"
import { Effect, Layer, type Stream } from "effect"
import { McpDefaultsConfig } from "../Config/EngramConfig.js"
import { VERSION } from "../Version.js"
import { engramPrompts } from "./Prompts.js"
import { engramResources } from "./Resources.js"
import { engramToolHandlers, makeEngramToolkit } from "./Tools.js"

/** Where `engram serve` answers streamable HTTP MCP (POST, JSON responses). */
export const MCP_PATH = "/mcp"

const serverInfo = { name: "engram", version: VERSION } as const

/**
 * Engram's tools, resources and prompts, with the defaults from ENGRAM_MCP_*, over the services
 * the composition root provides (Memory, MemoryReader, Forget, SearchEntry).
 */
export const EngramMcpFeatures = Layer.unwrapEffect(
  Effect.map(McpDefaultsConfig, (defaults) => {
    const toolkit = makeEngramToolkit(defaults)
    return Layer.mergeAll(McpServer.toolkit(toolkit), engramResources(defaults), engramPrompts(defaults)).pipe(
      Layer.provide(engramToolHandlers(toolkit, defaults))
    )
  })
)

/**
 * MCP over `stdin` and stdout (newline-delimited JSON-RPC), for clients that spawn `engram mcp`. Stdout
 * carries protocol messages only: whoever runs this must send logs elsewhere (the CLI uses stderr).
 */
export const mcpStdioLayer = <E, R>(stdin: Stream.Stream<Uint8Array, E, R>) =>
  EngramMcpFeatures.pipe(Layer.provide(McpServer.layerStdio({ ...serverInfo, stdin, stdout: NodeSink.stdout })))

/**
 * Streamable HTTP MCP at /mcp, on the API's own router: the edge middleware (request ids, bearer
 * auth, body checks and limit, error envelope) and the server's timeouts apply to it as to every route.
 */
export const McpHttpLive = EngramMcpFeatures.pipe(
  Layer.provide(McpServer.layerHttp({ ...serverInfo, path: MCP_PATH, routerTag: HttpApiBuilder.Router }))
)
