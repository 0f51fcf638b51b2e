import { Command, ValidationError } from "@effect/cli"
import { ConfigError, Console, Effect, Logger } from "effect"
import { checkUnknownVariables, LogLevelConfig } from "../Config/EngramConfig.js"
import { messageOf } from "../Domain/Errors.js"
import { EngramLive } from "../Engram.js"
import { addCommand, flushCommand, sessionCommand } from "./Commands.js"
import { evalCommand } from "./EvalCommands.js"
import { jobsCommand } from "./JobCommands.js"
import { mcpCommand } from "./Mcp.js"
import { deleteCommand, getCommand } from "./ReadCommands.js"
import { reembedCommand, searchCommand } from "./SearchCommands.js"
import { serveCommand } from "./Serve.js"
import { exportCommand, importCommand } from "./TransferCommands.js"

import { VERSION } from "../Version.js"

export const engram = Command.make("engram").pipe(
  Command.withDescription("Engram: long-term memory for AI agents"),
  Command.withSubcommands([
    serveCommand,
    addCommand.pipe(Command.provide(EngramLive)),
    flushCommand.pipe(Command.provide(EngramLive)),
    sessionCommand.pipe(Command.provide(EngramLive)),
    getCommand,
    deleteCommand,
    jobsCommand,
    evalCommand,
    searchCommand,
    reembedCommand,
    exportCommand,
    importCommand,
    mcpCommand
  ])
)

const describeError = (error: unknown): string => {
  if (ConfigError.isConfigError(error)) return `configuration: ${String(error).replace(/^\(?|\)?$/g, "")}`
  return messageOf(error) ?? String(error)
}

/**
 * Runs the command line: unknown ENGRAM_* variables are refused before anything starts, and any
 * failure is one line on stderr with a non-zero exit code (2 for usage errors).
 */
export const runCli = (argv: ReadonlyArray<string>, env: Readonly<Record<string, string | undefined>>) =>
  checkUnknownVariables(env).pipe(
    Effect.zipRight(LogLevelConfig),
    Effect.flatMap((level) => Command.run(engram, { name: "engram", version: VERSION })(argv).pipe(Logger.withMinimumLogLevel(level))),
    Effect.catchAll((error) =>
      ValidationError.isValidationError(error)
        ? Effect.sync(() => {
          process.exitCode = 2
        })
        : Console.error(`engram: ${describeError(error)}`).pipe(
          Effect.zipRight(Effect.sync(() => {
            process.exitCode = 1
          }))
        )
    )
  )
