import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { engramSearch } from "../Eval/EngramSearch.js"
import { runLocomoProgram } from "../Eval/LocomoProgram.js"

const locomoCommand = Command.make(
  "locomo",
  {
    data: Options.file("data", { exists: "yes" }).pipe(Options.withDescription("LoCoMo JSON file (e.g. locomo10.json)")),
    conversations: Options.integer("conversations").pipe(
      Options.withDescription("Only the first N conversations (a quick run)"),
      Options.optional
    ),
    split: Options.boolean("split").pipe(
      Options.withDescription("Also report conversations 1-5 (the half ranking is tuned on) and 6-10 (held out) apart")
    ),
    arrays: Options.boolean("arrays").pipe(
      Options.withDescription("Also score Engram read through its EverOS-shaped arrays (engram-arrays; twice the searches)")
    ),
    out: Options.file("out").pipe(Options.withDescription("Also write the full report (every question's scores) as JSON here"), Options.optional),
    workDir: Options.directory("work-dir").pipe(
      Options.withDescription("Keep Engram's database in this directory (default: a temporary one, removed afterwards)"),
      Options.optional
    ),
    reuse: Options.boolean("reuse").pipe(
      Options.withDescription(
        "With --work-dir: search the database an earlier run left there (same ENGRAM_* settings) instead of refusing it; ingest adds nothing twice (message ids), so only search runs again"
      )
    )
  },
  (options) =>
    runLocomoProgram(options, { description: "ingest through Memory, search once per speaker", search: engramSearch }).pipe(
      Effect.flatMap(Console.log)
    )
).pipe(
  Command.withDescription(
    "Evidence recall of Engram search against BM25 baselines on LoCoMo (ingests into a private database; progress on stderr)"
  )
)

export const evalCommand = Command.make("eval").pipe(
  Command.withDescription("Evaluations of Engram's memory"),
  Command.withSubcommands([locomoCommand])
)
