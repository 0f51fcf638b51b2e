import { Command, Options } from "@effect/cli"
import { ConfigProvider, Effect, Layer, Option } from "effect"
import { EngramLive } from "../Engram.js"
import { HttpServerLive } from "../Http/Server.js"

/** Flags win over ENGRAM_* variables, which win over defaults. */
export const flagsOverEnv = (flags: Record<string, Option.Option<string>>) => {
  const entries = Object.entries(flags).flatMap(([key, value]) => (Option.isSome(value) ? [[key, value.value] as const] : []))
  return ConfigProvider.fromMap(new Map(entries), { pathDelim: "_" }).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
}

export const serveCommand = Command.make(
  "serve",
  {
    host: Options.text("host").pipe(Options.withDescription("Interface to bind (default 127.0.0.1; ENGRAM_HOST)"), Options.optional),
    port: Options.integer("port").pipe(Options.withDescription("Port (default 8000; ENGRAM_PORT)"), Options.optional),
    dataDir: Options.directory("data-dir").pipe(
      Options.withDescription("Data directory (default ./.engram; ENGRAM_DATA_DIR)"),
      Options.optional
    )
  },
  ({ dataDir, host, port }) =>
    Layer.launch(HttpServerLive.pipe(Layer.provide(EngramLive))).pipe(
      Effect.withConfigProvider(flagsOverEnv({
        ENGRAM_HOST: host,
        ENGRAM_PORT: Option.map(port, String),
        ENGRAM_DATA_DIR: dataDir
      }))
    )
).pipe(Command.withDescription("Serve the HTTP API (memory add/flush/session, /health, /metrics, /docs) and MCP at /mcp"))
