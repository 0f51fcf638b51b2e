import { Args, Command, Options } from "@effect/cli"
import { Effect, Option, Schema, Stream } from "effect"
import * as Fs from "node:fs"
import * as Readline from "node:readline"
import { StorageError } from "../Domain/Errors.js"
import { ScopeId } from "../Domain/Message.js"
import { EngramOnce } from "../Engram.js"
import { Exporter } from "../Transfer/Export.js"
import { Importer } from "../Transfer/Import.js"
import { printJson } from "./Common.js"
import { InputError } from "./Input.js"

/**
 * Progress on stderr: a bar redrawn in place on a terminal, otherwise a line at most every
 * `LINE_EVERY_MS` (logs and pipes should not get one line per chunk).
 */
const LINE_EVERY_MS = 2_000
const BAR_WIDTH = 30

const progressReporter = (label: string) => {
  const tty = process.stderr.isTTY === true
  let lastLine = 0
  const report = (done: number, total: number | undefined) =>
    Effect.sync(() => {
      const fraction = total === undefined || total === 0 ? undefined : Math.min(1, done / total)
      const percent = fraction === undefined ? "" : ` ${(fraction * 100).toFixed(0)}%`
      if (tty) {
        const filled = Math.round((fraction ?? 0) * BAR_WIDTH)
        const bar = fraction === undefined ? "" : `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`
        process.stderr.write(`\r${label} ${bar}${percent} ${done}${total === undefined ? "" : `/${total}`}`)
      } else if (Date.now() - lastLine >= LINE_EVERY_MS || (total !== undefined && done >= total)) {
        lastLine = Date.now()
        process.stderr.write(`${label}: ${done}${total === undefined ? "" : ` of ${total}`}${percent}\n`)
      }
    })
  const finish = Effect.sync(() => {
    if (tty) process.stderr.write("\n")
  })
  return { report, finish }
}

/** Writes with the stream's backpressure: waits until each chunk is handed to the OS. */
const writeTo = (stream: NodeJS.WritableStream) => (lines: ReadonlyArray<string>) =>
  Effect.async<void, StorageError>((resume) => {
    stream.write(lines.join("\n") + "\n", (error) =>
      resume(error ? Effect.fail(new StorageError({ operation: "write export", reason: error.message })) : Effect.void))
  })

const closeStream = (stream: Fs.WriteStream) =>
  Effect.async<void>((resume) => {
    stream.end(() => resume(Effect.void))
  })

const scopeFlags = {
  app: Options.text("app").pipe(Options.withDescription("Only this app id (with --project)"), Options.optional),
  project: Options.text("project").pipe(Options.withDescription("Only this project id (with --app)"), Options.optional)
}

export const exportCommand = Command.make(
  "export",
  {
    ...scopeFlags,
    out: Options.file("out").pipe(Options.withAlias("o"), Options.withDescription("Write to this file (default: stdout)"), Options.optional)
  },
  (options) =>
    Effect.gen(function*() {
      const exporter = yield* Exporter
      const scope = yield* Option.match(Option.all({ app: options.app, project: options.project }), {
        onNone: () =>
          Option.isSome(options.app) || Option.isSome(options.project)
            ? Effect.fail(new InputError({ reason: "--app and --project go together (or neither, for everything)" }))
            : Effect.succeed(Option.none()),
        onSome: ({ app, project }) =>
          Schema.decodeUnknown(Schema.Struct({ app_id: ScopeId, project_id: ScopeId }))({ app_id: app, project_id: project }).pipe(
            Effect.mapError(() => new InputError({ reason: "--app and --project must be lowercase ids" })),
            Effect.map(Option.some)
          )
      })
      const progress = progressReporter("exported")
      const result = yield* Option.match(options.out, {
        onNone: () => exporter.run(scope, writeTo(process.stdout), (p) => progress.report(p.done, p.total)),
        onSome: (file) =>
          Effect.acquireUseRelease(
            Effect.sync(() => Fs.createWriteStream(file)),
            (stream) => exporter.run(scope, writeTo(stream), (p) => progress.report(p.done, p.total)),
            closeStream
          )
      })
      yield* progress.finish
      if (Option.isSome(options.out)) yield* printJson({ file: options.out.value, lines: result.lines + 1 })
    })
).pipe(
  Command.withDescription("Write a scope (--app and --project) or everything as JSON Lines: messages, memcells, episodes, facts, foresight"),
  Command.provide(EngramOnce)
)

export const importCommand = Command.make(
  "import",
  { file: Args.file({ name: "file", exists: "yes" }).pipe(Args.withDescription("A file written by engram export")) },
  ({ file }) =>
    Effect.gen(function*() {
      const importer = yield* Importer
      const size = Fs.statSync(file).size
      let bytes = 0
      const lines = Stream.suspend(() => {
        const input = Fs.createReadStream(file, { encoding: "utf8" })
        input.on("data", (chunk) => {
          bytes += Buffer.byteLength(chunk)
        })
        return Stream.fromAsyncIterable(
          Readline.createInterface({ input, crlfDelay: Infinity }),
          (error) => new StorageError({ operation: "read import file", reason: String(error) })
        )
      })
      const progress = progressReporter("imported")
      const result = yield* importer.run(lines, () => progress.report(Math.min(bytes, size), size))
      yield* progress.finish
      yield* printJson(result)
    })
).pipe(
  Command.withDescription("Load a file written by engram export; importing twice changes nothing"),
  Command.provide(EngramOnce)
)
