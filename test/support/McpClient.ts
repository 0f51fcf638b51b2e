import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Effect } from "effect"
import type { Scope } from "effect"
import * as Path from "node:path"
import { cleanEnv } from "./ServerProcess.js"

/**
 * The official MCP TypeScript SDK client (written by nobody here) connected to Engram, closed
 * when the scope closes. Transport errors (e.g. a line on stdout that is not JSON-RPC) are kept.
 */

const root = Path.join(import.meta.dirname, "..", "..")

/**
 * Bound on each request (the SDK's default is 60 s). Not a performance budget: a spawned server
 * transpiles itself on start, which takes long on a loaded machine.
 */
const REQUEST_TIMEOUT_MS = 300_000

export interface ConnectedClient {
  readonly client: Client
  /** `tools/call` with the generous request bound. */
  readonly call: (name: string, args: Record<string, unknown>) => Effect.Effect<Awaited<ReturnType<Client["callTool"]>>>
  /** `resources/read` of a JSON resource, parsed. */
  readonly readJson: (uri: string) => Effect.Effect<any>
  /** Errors the transport reported (unparseable output, failed requests). */
  readonly transportErrors: ReadonlyArray<Error>
  /** What the server process wrote to stderr so far (stdio only). */
  readonly stderr: () => string
}

const connect = (
  transport: StdioClientTransport | StreamableHTTPClientTransport,
  readStderr: () => string
): Effect.Effect<ConnectedClient, unknown, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise(async () => {
      const client = new Client({ name: "engram-test", version: "1.0.0" })
      const transportErrors: Array<Error> = []
      await client.connect(transport, { timeout: REQUEST_TIMEOUT_MS })
      // Set after connect: the SDK installs its own handler there.
      const sdkHandler = transport.onerror
      transport.onerror = (error) => {
        transportErrors.push(error)
        sdkHandler?.(error)
      }
      const options = { timeout: REQUEST_TIMEOUT_MS }
      return {
        client,
        call: (name, args) => Effect.promise(() => client.callTool({ name, arguments: args }, undefined, options)),
        readJson: (uri) =>
          Effect.promise(() => client.readResource({ uri }, options)).pipe(
            Effect.map((result) => {
              const content = result.contents[0]
              if (content === undefined || !("text" in content)) throw new Error(`no text content at ${uri}`)
              return JSON.parse(content.text)
            })
          ),
        transportErrors,
        stderr: readStderr
      } satisfies ConnectedClient
    }),
    ({ client }) => Effect.promise(() => client.close())
  )

/** A client speaking streamable HTTP to `${baseUrl}/mcp`, with extra request headers (e.g. the bearer token). */
export const connectHttp = (baseUrl: string, headers: Record<string, string> = {}) =>
  connect(new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), { requestInit: { headers } }), () => "")

/** A client that spawns `engram mcp` (the real entry point, through tsx) with `env` over a clean environment. */
export const connectStdio = (env: Record<string, string>) => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ["--import", "tsx", "src/main.ts", "mcp"],
    cwd: root,
    env: { ...cleanEnv(), ...env },
    stderr: "pipe"
  })
  let stderr = ""
  transport.stderr?.on("data", (chunk) => (stderr += String(chunk)))
  return connect(transport, () => stderr)
}

/** The JSON a tool answered with (its single text content). */
export const toolJson = (result: Awaited<ReturnType<Client["callTool"]>>): any => {
  const content = result.content as ReadonlyArray<{ type: string; text?: string }>
  if (content.length !== 1 || content[0]!.type !== "text") throw new Error(`unexpected tool content: ${JSON.stringify(result)}`)
  return JSON.parse(content[0]!.text!)
}
