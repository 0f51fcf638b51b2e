import { Command, Options } from "@effect/cli"
import { NodeStream } from "@effect/platform-node"
import { Deferred, Effect, FiberRef, HashSet, Layer, Logger, Stream } from "effect"
import { EngramLive } from "../Engram.js"
import { mcpStdioLayer } from "../Mcp/McpLive.js"
import { flagsOverEnv } from "./Serve.js"

/**
 * Every log line goes to stderr instead of the stdout loggers (the default one, or the pretty one
 * the runtime installs): on stdio, stdout belongs to the MCP protocol and one stray line would
 * corrupt it. Applied around everything, so the extraction workers and every other fiber inherit it.
 */
const logToStderr = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.locallyWith(effect, FiberRef.currentLoggers, (loggers) =>
    loggers.pipe(
      HashSet.remove(Logger.defaultLogger),
      HashSet.remove(Logger.prettyLoggerDefault),
      HashSet.add(Logger.prettyLogger({ stderr: true, colors: false }))
    ))

/**
 * Serves until the client closes stdin (it quit, or its process died), then shuts down like on
 * SIGTERM: the server must not outlive the client that spawned it.
 */
const serveStdio = Effect.gen(function*() {
  const stdinClosed = yield* Deferred.make<void>()
  const stdin = NodeStream.stdin.pipe(Stream.ensuring(Deferred.succeed(stdinClosed, undefined)))
  const server = Layer.mergeAll(mcpStdioLayer(stdin), Layer.effectDiscard(Effect.logInfo("engram MCP server ready on stdio"))).pipe(
    Layer.provide(EngramLive)
  )
  yield* Effect.raceFirst(Layer.launch(server), Deferred.await(stdinClosed))
})

export const mcpCommand = Command.make(
  "mcp",
  {
    dataDir: Options.directory("data-dir").pipe(
      Options.withDescription("Data directory (default ./.engram; ENGRAM_DATA_DIR)"),
      Options.optional
    )
  },
  ({ dataDir }) => serveStdio.pipe(Effect.withConfigProvider(flagsOverEnv({ ENGRAM_DATA_DIR: dataDir })), logToStderr)
).pipe(Command.withDescription("Serve MCP over stdio (for Claude Desktop, Claude Code, Cursor...): memory as tools, resources and a prompt"))
