import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Option, Schema } from "effect"
import * as Fs from "node:fs/promises"
import { ScopeId, SessionId } from "../Domain/Message.js"
import { firstIssue } from "../Domain/Validation.js"
import { Memory } from "../Memorize/Memory.js"
import { toSessionView } from "../Memorize/SessionView.js"
import { appOption, printJson, projectOption } from "./Common.js"
import { InputError, parseMessagesFile } from "./Input.js"

/** Largest batch the add contract accepts. */
const MAX_BATCH = 500

const validated = <A, I>(schema: Schema.Schema<A, I>, flag: string) => (value: I) =>
  Schema.decode(schema)(value).pipe(
    Effect.mapError((error) => new InputError({ reason: `--${flag} ${firstIssue(error).message}` }))
  )

const sessionOption = Options.text("session").pipe(Options.withAlias("s"), Options.withDescription("Session id (1-128 characters)"))

const scopeOf = (options: { session: string; app: string; project: string }) =>
  Effect.all({
    session_id: validated(SessionId, "session")(options.session),
    app_id: validated(ScopeId, "app")(options.app),
    project_id: validated(ScopeId, "project")(options.project)
  })

const readSource = (file: Option.Option<string>) =>
  Option.match(file, {
    onNone: () =>
      Effect.tryPromise({
        try: async () => {
          const chunks: Array<Buffer> = []
          for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
          return { source: "stdin", text: Buffer.concat(chunks).toString("utf8") }
        },
        catch: (cause) => new InputError({ reason: `cannot read stdin: ${String(cause)}` })
      }),
    onSome: (path) =>
      Effect.tryPromise({
        try: async () => ({ source: path, text: await Fs.readFile(path, "utf8") }),
        catch: (cause) => new InputError({ reason: `cannot read ${path}: ${(cause as Error).message}` })
      })
  })

export const addCommand = Command.make(
  "add",
  {
    session: sessionOption,
    app: appOption,
    project: projectOption,
    file: Args.file({ name: "file", exists: "yes" }).pipe(
      Args.withDescription("JSON file: an array of messages or {\"messages\": [...]}; stdin when omitted"),
      Args.optional
    )
  },
  (options) =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const scope = yield* scopeOf(options)
      const { source, text } = yield* readSource(options.file)
      const messages = yield* parseMessagesFile(source, text)
      const totals = { message_count: 0, memcell_ids: [] as Array<string> }
      for (let start = 0; start < messages.length; start += MAX_BATCH) {
        const result = yield* memory.add({ ...scope, messages: messages.slice(start, start + MAX_BATCH) })
        totals.message_count += result.message_count
        totals.memcell_ids.push(...result.memcell_ids)
        if (messages.length > MAX_BATCH) {
          yield* Console.error(`added ${Math.min(start + MAX_BATCH, messages.length)}/${messages.length} messages`)
        }
      }
      yield* printJson({ ...scope, ...totals, status: totals.memcell_ids.length > 0 ? "extracted" : "accumulated" })
    })
).pipe(Command.withDescription("Add a session's messages from a JSON file or stdin"))

export const flushCommand = Command.make(
  "flush",
  { session: sessionOption, app: appOption, project: projectOption },
  (options) =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const scope = yield* scopeOf(options)
      yield* printJson({ ...scope, ...(yield* memory.flush(scope)) })
    })
).pipe(Command.withDescription("Close every buffered message of a session into memcells"))

export const sessionCommand = Command.make(
  "session",
  { session: sessionOption, app: appOption, project: projectOption },
  (options) =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const scope = yield* scopeOf(options)
      yield* printJson(toSessionView(yield* memory.session(scope)))
    })
).pipe(Command.withDescription("Print a session's buffered messages and memcells"))
