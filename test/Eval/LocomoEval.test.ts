import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { engramSearch } from "../../src/Eval/EngramSearch.js"
import { runLocomoProgram } from "../../src/Eval/LocomoProgram.js"
import { locomoMini } from "../fixtures/locomoMini.js"

/** A temporary directory holding the mini data set, removed afterwards. */
const tempDir = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "engram-eval-test-"))
    await Fs.writeFile(Path.join(dir, "mini.json"), JSON.stringify(locomoMini))
    return dir
  }),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

/** Defaults only (offline models), whatever the environment running the tests holds. */
const defaultsOnly = Effect.withConfigProvider(ConfigProvider.fromMap(new Map(), { pathDelim: "_" }))

interface JsonReport {
  readonly dataset: { readonly scoredQuestions: number; readonly unscoredQuestions: number; readonly malformedEvidence: number; readonly unknownEvidence: number }
  readonly summaries: ReadonlyArray<{ readonly name: string; readonly overall: { readonly questions: number; readonly recallAtWords: Record<string, number> } }>
  readonly questions: ReadonlyArray<{
    readonly sampleId: string
    readonly question: string
    readonly answers: Record<string, { readonly recallAtWords: Record<string, number>; readonly wordsToEvidence: Record<string, { readonly words: number; readonly rule: string } | null> }>
  }>
}

describe("engram eval locomo", () => {
  it.scopedLive("ingests the mini data set through Memory and scores Engram and both baselines", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = Path.join(dir, "report.json")
      const workDir = Path.join(dir, "work")
      const markdown = yield* runLocomoProgram(
        { data: Path.join(dir, "mini.json"), conversations: Option.none(), out: Option.some(out), workDir: Option.some(workDir), split: true, arrays: true, reuse: false },
        { description: "search", search: engramSearch }
      ).pipe(defaultsOnly)

      expect(markdown).toContain("| retriever | questions | R@250w | R@500w | R@1000w | R@all | words | p50 ms | p95 ms |")
      // --split: the tuning half holds both conversations of the mini set; the held-out half none.
      expect(markdown).toContain("## conversations 1–5 (tuning half)")
      expect(markdown).not.toContain("held-out half)")
      for (const name of ["engram", "engram-arrays", "bm25-turns", "bm25-windows"]) expect(markdown).toContain(`| ${name} | 7 |`)
      expect(markdown).toContain("1 without usable evidence skipped; 1 malformed and 1 unknown evidence ids dropped")

      const report = JSON.parse(yield* Effect.promise(() => Fs.readFile(out, "utf8"))) as JsonReport
      expect(report.dataset).toMatchObject({ scoredQuestions: 7, unscoredQuestions: 1, malformedEvidence: 1, unknownEvidence: 1 })
      const puppy = report.questions.find((q) => q.question === "What is the name of Alice's puppy?")!
      for (const name of ["engram", "engram-arrays", "bm25-turns", "bm25-windows"]) expect(puppy.answers[name]!.recallAtWords["1000"]).toBe(1)
      const tahoe = report.questions.find((q) => q.question === "Where will Dan sail his sailboat?")!
      expect(tahoe.answers["bm25-windows"]!.wordsToEvidence).toEqual({
        "D1:2": { words: expect.any(Number), rule: "verbatim" },
        "D1:4": { words: expect.any(Number), rule: "verbatim" }
      })

      // Every turn of both conversations is in exactly one memcell of its own conversation.
      const rows = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ project_id: string; message_id: string; session_id: string; memcell_id: string | null }>`
          SELECT project_id, message_id, session_id, memcell_id FROM messages ORDER BY project_id, message_id`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: Path.join(workDir, "engram.db") })))
      expect(rows.map((r) => `${r.project_id}/${r.session_id}/${r.message_id}`)).toEqual([
        "conv-a/session_1/D1:1",
        "conv-a/session_1/D1:2",
        "conv-a/session_1/D1:3",
        "conv-a/session_1/D1:4",
        "conv-a/session_1/D1:5",
        "conv-a/session_2/D2:1",
        "conv-a/session_2/D2:2",
        "conv-a/session_2/D2:3",
        "conv-a/session_2/D2:4",
        "conv-b/session_1/D1:1",
        "conv-b/session_1/D1:2",
        "conv-b/session_1/D1:3",
        "conv-b/session_1/D1:4"
      ])
      expect(rows.every((r) => r.memcell_id !== null)).toBe(true)
    }), { timeout: 60_000 })

  it.scopedLive("runs only the first conversations when asked, refuses a count below 1 and a work directory holding a database", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const workDir = Path.join(dir, "work")
      const run = (conversations: Option.Option<number>, reuse = false) =>
        runLocomoProgram(
          { data: Path.join(dir, "mini.json"), conversations, out: Option.none(), workDir: Option.some(workDir), split: false, arrays: false, reuse },
          { description: "search", search: engramSearch }
        ).pipe(defaultsOnly)
      const markdown = yield* run(Option.some(1))
      expect(markdown).toContain("1 conversations, 2 sessions, 9 turns; 5 questions")
      const again = yield* Effect.flip(run(Option.some(1)))
      expect(again.message).toContain("already holds engram.db")
      expect((yield* Effect.flip(run(Option.some(0)))).message).toBe("--conversations must be at least 1, got 0")
      // --reuse searches the kept database again: the same answers, nothing ingested twice.
      const reused = yield* run(Option.some(1), true)
      const table = (text: string) => text.split("\n").filter((line) => /^\| (engram|bm25-\w+) \| /.test(line)).map((line) => line.split("|").slice(1, 6).join("|"))
      expect(table(reused)).toEqual(table(markdown))
      expect(reused).toContain("1 conversations, 2 sessions, 9 turns; 5 questions")
    }), { timeout: 60_000 })
})

