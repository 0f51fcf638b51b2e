import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { DeleteRequest } from "../Domain/DeleteRequest.js"
import { GetRequest } from "../Domain/GetRequest.js"
import { EngramOnce } from "../Engram.js"
import { Forget } from "../Reading/Forget.js"
import { MemoryReader } from "../Reading/MemoryReader.js"
import { appOption, decodeRequest, printJson, projectOption } from "./Common.js"

export const getCommand = Command.make(
  "get",
  {
    user: Options.text("user").pipe(Options.withAlias("u"), Options.withDescription("User id whose memory to read")),
    type: Options.choice("type", ["episode", "atomic_fact", "foresight"]).pipe(
      Options.withDefault("episode" as const),
      Options.withDescription("Memory type")
    ),
    session: Options.text("session").pipe(Options.withAlias("s"), Options.withDescription("Only this session"), Options.optional),
    page: Options.integer("page").pipe(Options.withDefault(1), Options.withDescription("Page number (from 1)")),
    pageSize: Options.integer("page-size").pipe(Options.withDefault(20), Options.withDescription("Items per page (1-100)")),
    app: appOption,
    project: projectOption
  },
  (options) =>
    Effect.gen(function*() {
      const reader = yield* MemoryReader
      const request = yield* decodeRequest(GetRequest, {
        user_id: options.user,
        app_id: options.app,
        project_id: options.project,
        memory_type: options.type,
        page: options.page,
        page_size: options.pageSize,
        ...Option.match(options.session, { onNone: () => ({}), onSome: (session_id) => ({ filters: { session_id } }) })
      })
      yield* printJson(yield* reader.get(request))
    })
).pipe(
  Command.withDescription("Print a page of a user's episodes (with their facts), atomic facts or foresight"),
  Command.provide(EngramOnce)
)

export const deleteCommand = Command.make(
  "delete",
  {
    user: Options.text("user").pipe(Options.withAlias("u"), Options.withDescription("Delete this user's messages and every memcell holding one"), Options.optional),
    session: Options.text("session").pipe(Options.withAlias("s"), Options.withDescription("Delete this session"), Options.optional),
    memcell: Options.text("memcell").pipe(Options.repeated, Options.withDescription("Delete this memcell (repeatable)")),
    app: appOption,
    project: projectOption
  },
  (options) =>
    Effect.gen(function*() {
      const forget = yield* Forget
      const request = yield* decodeRequest(DeleteRequest, {
        app_id: options.app,
        project_id: options.project,
        ...Option.match(options.user, { onNone: () => ({}), onSome: (user_id) => ({ user_id }) }),
        ...Option.match(options.session, { onNone: () => ({}), onSome: (session_id) => ({ session_id }) }),
        ...(options.memcell.length > 0 ? { memcell_ids: options.memcell } : {})
      })
      yield* printJson(yield* forget.delete(request))
    })
).pipe(
  Command.withDescription("Delete messages and memcells (by --user, --session or --memcell) with everything derived from them"),
  Command.provide(EngramOnce)
)
