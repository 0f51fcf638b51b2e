/**
 * `engram eval locomo` as a program: load the data, build Engram on a private data directory
 * (memorize plus running extraction workers, configured from ENGRAM_* like the server, except
 * the data directory), run Engram and the two baselines over the conversations, print the
 * markdown report and write the JSON one. Progress lines go to stderr.
 */
import { Console, Effect, type Layer, Option, Schema } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { EmbedderChoiceConfig, LlmSettingsConfig } from "../Config/EngramConfig.js"
import { makeEngram } from "../Engram.js"
import * as Database from "../Storage/Database.js"
import { JobQueue } from "../Jobs/JobQueue.js"
import { makeTurnBaseline, makeWindowBaseline } from "./Baselines.js"
import { type EvalSearch, makeEngramRetrievers } from "./EngramRetriever.js"
import { loadLocomo } from "./LocomoData.js"
import { DEFAULT_SETTINGS, runLocomoEval } from "./LocomoEval.js"
import { jsonReport, markdownReport, summarizeRun } from "./Report.js"

export class EvalSetupError extends Schema.TaggedError<EvalSetupError>()("EvalSetupError", { reason: Schema.String }) {
  override get message() {
    return this.reason
  }
}

export interface LocomoEvalOptions {
  /** The LoCoMo JSON file. */
  readonly data: string
  /** Only the first N conversations. */
  readonly conversations: Option.Option<number>
  /** Where to write the JSON report. */
  readonly out: Option.Option<string>
  /** Also report the tuning half (conversations 1–5) and the held-out half apart. */
  readonly split: boolean
  /** Also score Engram read through its EverOS-shaped arrays (`engram-arrays`; twice the searches). */
  readonly arrays: boolean
  /** Keep Engram's database here (must not hold one yet, unless `reuse`) instead of a temporary directory. */
  readonly workDir: Option.Option<string>
  /** Search the database an earlier run left in `workDir` (re-ingesting adds nothing: ids are idempotent). */
  readonly reuse: boolean
}

/** Everything the Engram side of the eval runs on, on `dataDir`. */
export const engramEvalLayer = (dataDir: string) =>
  makeEngram({ database: Database.layerFile(Path.join(dataDir, Database.DATABASE_FILE)), background: true })

export type EngramEvalServices = Layer.Layer.Success<ReturnType<typeof engramEvalLayer>>

const workDirectory = (workDir: Option.Option<string>, reuse: boolean) =>
  Option.match(workDir, {
    onNone: () =>
      Effect.acquireRelease(
        Effect.tryPromise({
          try: () => Fs.mkdtemp(Path.join(Os.tmpdir(), "engram-eval-")),
          catch: (cause) => new EvalSetupError({ reason: `cannot create a temporary directory: ${String(cause)}` })
        }),
        (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
      ),
    onSome: (dir) =>
      Effect.tryPromise({
        try: async () => {
          const existing = await Fs.stat(Path.join(dir, Database.DATABASE_FILE)).then(() => true, () => false)
          if (existing && !reuse) {
            throw new Error(`${dir} already holds ${Database.DATABASE_FILE}; the eval needs a fresh database (or --reuse to search that one)`)
          }
          await Fs.mkdir(dir, { recursive: true })
          return dir
        },
        catch: (cause) => new EvalSetupError({ reason: (cause as Error).message })
      })
  })

/** What Engram runs with: the models from ENGRAM_LLM_*, and whether search has an embedder. */
const describeModels = Effect.map(
  Effect.all([LlmSettingsConfig, EmbedderChoiceConfig]),
  ([llm, embedder]) =>
    Option.match(llm, {
      onNone: () => "offline (local boundary detector and extractors)",
      onSome: (settings) => `LLM ${settings.model} at ${settings.baseUrl}`
    }) +
    (embedder._tag === "Off"
      ? ", no embedder (search method keyword)"
      : `, embedder ${embedder._tag === "Local" ? "local" : embedder.settings.model} (search method hybrid)`)
)

const writeJson = (path: string, value: unknown) =>
  Effect.tryPromise({
    try: async () => {
      await Fs.mkdir(Path.dirname(Path.resolve(path)), { recursive: true })
      await Fs.writeFile(path, JSON.stringify(value, null, 2) + "\n", "utf8")
    },
    catch: (cause) => new EvalSetupError({ reason: `cannot write ${path}: ${(cause as Error).message}` })
  })

/**
 * Runs the eval with `search` as Engram's search (built from the eval's layers, which include
 * `Search`) and returns the markdown report.
 */
export const runLocomoProgram = <E>(
  options: LocomoEvalOptions,
  engram: { readonly description: string; readonly search: Effect.Effect<EvalSearch<E>, never, EngramEvalServices> }
) =>
  Effect.scoped(Effect.gen(function*() {
    const progress = (line: string) => Console.error(line)
    if (Option.isSome(options.conversations) && options.conversations.value < 1) {
      return yield* new EvalSetupError({ reason: `--conversations must be at least 1, got ${options.conversations.value}` })
    }
    const all = yield* loadLocomo(options.data)
    const conversations = Option.match(options.conversations, { onNone: () => all, onSome: (n) => all.slice(0, n) })
    const dir = yield* workDirectory(options.workDir, options.reuse)
    if (options.reuse && Option.isNone(options.workDir)) {
      return yield* new EvalSetupError({ reason: "--reuse needs --work-dir (the directory an earlier run kept its database in)" })
    }
    const models = yield* describeModels
    yield* progress(`engram eval locomo: ${conversations.length} conversation(s); Engram ${models}; database in ${dir}`)
    return yield* Effect.gen(function*() {
      const engramRetrievers = yield* makeEngramRetrievers([
        { name: "engram", description: `${engram.description}, reading the packed context; ${models}`, reading: "context" as const },
        ...(options.arrays
          ? [{ name: "engram-arrays", description: `${engram.description}, reading the EverOS-shaped arrays; ${models}`, reading: "arrays" as const }]
          : [])
      ], yield* engram.search)
      const retrievers = [
        ...engramRetrievers,
        yield* makeTurnBaseline,
        yield* makeWindowBaseline(1)
      ]
      const run = yield* runLocomoEval(conversations, retrievers, DEFAULT_SETTINGS, progress)
      const jobs = yield* (yield* JobQueue).counts
      if (jobs.dead > 0) yield* progress(`warning: ${jobs.dead} extraction job(s) dead-lettered; their memory is missing`)
      const summaries = summarizeRun(run)
      const markdown = markdownReport(run, summaries, { split: options.split })
      yield* Option.match(options.out, {
        onNone: () => Effect.void,
        onSome: (path) =>
          writeJson(path, jsonReport(run, { data: Path.resolve(options.data), engram: models, extraction_jobs: jobs })).pipe(
            Effect.zipRight(progress(`JSON report written to ${path}`))
          )
      })
      return markdown
    }).pipe(Effect.provide(engramEvalLayer(dir)))
  }))
