/**
 * Summaries of an eval run: per retriever, over all scored questions and per category, the mean
 * evidence recall within each word budget (by the reader of `EvidenceRecall`, and its strict
 * variant without rewrite credit), the mean words returned, and search latency percentiles; as a
 * markdown report and as JSON (which also keeps every question's scores). With `split`, the
 * tuning half (the first `TUNING_CONVERSATIONS` conversations) and the held-out rest are also
 * summarised apart, so a ranking change tuned on the first half can be checked on the second.
 */
import { CATEGORY_NAMES, type LocomoCategory } from "./LocomoData.js"
import type { EvalRun, QuestionRecord, ScoredAnswer } from "./LocomoEval.js"

export interface Summary {
  readonly questions: number
  /** Mean recall within each word budget. */
  readonly recallAtWords: Readonly<Record<number, number>>
  /** The same, verbatim turns and small facts only (no rewrite credit). */
  readonly strictRecallAtWords: Readonly<Record<number, number>>
  /** Mean recall over everything returned (the ceiling a larger budget could reach). */
  readonly recallReturned: number
  /** Mean words of everything returned. */
  readonly wordsReturned: number
  readonly latencyP50Ms: number
  readonly latencyP95Ms: number
}

export interface RetrieverSummary {
  readonly name: string
  readonly description: string
  readonly overall: Summary
  readonly byCategory: Readonly<Partial<Record<LocomoCategory, Summary>>>
  /** Preparation (ingest or indexing) time over all conversations, and its summed details. */
  readonly preparationMs: number
  readonly details: Readonly<Record<string, number>>
}

const mean = (values: ReadonlyArray<number>) => values.length === 0 ? 0 : values.reduce((s, v) => s + v, 0) / values.length

/** Nearest-rank percentile (`p` in 0..100) of `values`; 0 when there are none. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export const summarize = (run: EvalRun, answers: ReadonlyArray<ScoredAnswer>): Summary => {
  const byKey = (keys: ReadonlyArray<number>, pick: (a: ScoredAnswer) => Readonly<Record<number, number>>) =>
    Object.fromEntries(keys.map((key) => [key, mean(answers.map((a) => pick(a)[key] ?? 0))]))
  const latencies = answers.map((a) => a.latencyMs)
  return {
    questions: answers.length,
    recallAtWords: byKey(run.settings.budgets, (a) => a.recallAtWords),
    strictRecallAtWords: byKey(run.settings.budgets, (a) => a.strictRecallAtWords),
    recallReturned: mean(answers.map((a) => a.recallReturned)),
    wordsReturned: mean(answers.map((a) => a.wordsReturned)),
    latencyP50Ms: percentile(latencies, 50),
    latencyP95Ms: percentile(latencies, 95)
  }
}

const answersOf = (questions: ReadonlyArray<QuestionRecord>, retriever: string) =>
  questions.flatMap((q) => (q.answers[retriever] === undefined ? [] : [q.answers[retriever]]))

/** Conversations (from the start of the file) that ranking may be tuned on; the rest are held out. */
export const TUNING_CONVERSATIONS = 5

export type RunHalf = "tuning" | "held-out"

export const inHalf = (half: RunHalf) => (question: QuestionRecord) =>
  (question.conversationIndex < TUNING_CONVERSATIONS) === (half === "tuning")

/** Per retriever summaries over the questions `keep` accepts (all by default). */
export const summarizeRun = (run: EvalRun, keep: (question: QuestionRecord) => boolean = () => true): ReadonlyArray<RetrieverSummary> =>
  run.retrievers.map(({ description, name }) => {
    const questions = run.questions.filter(keep)
    const byCategory: Partial<Record<LocomoCategory, Summary>> = {}
    for (const category of run.settings.categories) {
      const answers = answersOf(questions.filter((q) => q.category === category), name)
      if (answers.length > 0) byCategory[category] = summarize(run, answers)
    }
    const prepared = run.preparation.filter((p) => p.retriever === name)
    const details: Record<string, number> = {}
    for (const p of prepared) for (const [key, value] of Object.entries(p.details)) details[key] = (details[key] ?? 0) + value
    return {
      name,
      description,
      overall: summarize(run, answersOf(questions, name)),
      byCategory,
      preparationMs: prepared.reduce((s, p) => s + p.ms, 0),
      details
    }
  })

const fixed = (n: number, digits: number) => n.toFixed(digits)

const header = (run: EvalRun, first: string) => {
  const columns = [
    first,
    "questions",
    ...run.settings.budgets.map((b) => `R@${b}w`),
    "R@all",
    "words",
    "p50 ms",
    "p95 ms"
  ]
  return [`| ${columns.join(" | ")} |`, `|${columns.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`]
}

const row = (run: EvalRun, first: string, s: Summary) =>
  `| ${
    [
      first,
      String(s.questions),
      ...run.settings.budgets.map((b) => fixed(s.recallAtWords[b] ?? 0, 3)),
      fixed(s.recallReturned, 3),
      fixed(s.wordsReturned, 0),
      fixed(s.latencyP50Ms, 2),
      fixed(s.latencyP95Ms, 2)
    ].join(" | ")
  } |`

/** Recall within each budget by category, one column per retriever. */
const byCategoryTables = (run: EvalRun, summaries: ReadonlyArray<RetrieverSummary>, title: string): Array<string> => {
  const lines: Array<string> = []
  for (const budget of run.settings.budgets) {
    lines.push("", `### ${title}within ${budget} words by category`, "")
    lines.push(`| category | questions | ${summaries.map((s) => s.name).join(" | ")} |`)
    lines.push(`| --- | ---: |${summaries.map(() => " ---: ").join("|")}|`)
    const all = summaries[0]?.overall.questions ?? 0
    lines.push(`| all | ${all} | ${summaries.map((s) => fixed(s.overall.recallAtWords[budget] ?? 0, 3)).join(" | ")} |`)
    for (const category of run.settings.categories) {
      const n = summaries[0]?.byCategory[category]?.questions ?? 0
      lines.push(
        `| ${category} ${CATEGORY_NAMES[category]} | ${n} | ${
          summaries.map((s) => fixed(s.byCategory[category]?.recallAtWords[budget] ?? 0, 3)).join(" | ")
        } |`
      )
    }
  }
  return lines
}

export interface ReportOptions {
  /** Also report the tuning half and the held-out half apart. */
  readonly split: boolean
}

/** The run as markdown: an overview, one table per retriever by category, and a comparison. */
export const markdownReport = (
  run: EvalRun,
  summaries: ReadonlyArray<RetrieverSummary> = summarizeRun(run),
  options: ReportOptions = { split: false }
): string => {
  const d = run.dataset
  const lines: Array<string> = [
    "## LoCoMo evidence recall",
    "",
    `${d.conversations} conversations, ${d.sessions} sessions, ${d.turns} turns; ${d.scoredQuestions} questions of categories ` +
    `${run.settings.categories.join(", ")} scored (${d.unscoredQuestions} without usable evidence skipped; ` +
    `${d.malformedEvidence} malformed and ${d.unknownEvidence} unknown evidence ids dropped). ` +
    `R@Nw: share of evidence turns found within the first N words of returned text (all text counted, read in rank ` +
    `order): shown verbatim, or rewritten faithfully (>= 60% of its content words) by a part made from it, or ` +
    `stated by an atomic fact of at most 3 messages; R@all: found anywhere in what was returned; words: mean words ` +
    `returned; p50/p95: search latency.`,
    "",
    ...header(run, "retriever"),
    ...summaries.map((s) => row(run, s.name, s.overall)),
    "",
    "Strict variant (no rewrite credit: the turn verbatim, or an atomic fact of at most 3 messages):",
    "",
    `| retriever | ${run.settings.budgets.map((b) => `R@${b}w`).join(" | ")} |`,
    `| --- |${run.settings.budgets.map(() => " ---: ").join("|")}|`,
    ...summaries.map((s) => `| ${s.name} | ${run.settings.budgets.map((b) => fixed(s.overall.strictRecallAtWords[b] ?? 0, 3)).join(" | ")} |`)
  ]
  for (const s of summaries) {
    lines.push("", `### ${s.name}: ${s.description}`, "")
    lines.push(...header(run, "category"), row(run, "all", s.overall))
    for (const category of run.settings.categories) {
      const summary = s.byCategory[category]
      if (summary !== undefined) lines.push(row(run, `${category} ${CATEGORY_NAMES[category]}`, summary))
    }
    const details = Object.entries(s.details)
    lines.push(
      "",
      `Prepared in ${fixed(s.preparationMs / 1000, 1)} s` +
        (details.length > 0 ? `; ${details.map(([k, v]) => `${k} ${Number.isInteger(v) ? v : fixed(v, 1)}`).join(", ")}` : "") +
        "."
    )
  }
  lines.push(...byCategoryTables(run, summaries, "Recall "))
  if (options.split) {
    for (const half of ["tuning", "held-out"] as const) {
      const halfSummaries = summarizeRun(run, inHalf(half))
      if ((halfSummaries[0]?.overall.questions ?? 0) === 0) continue
      const which = half === "tuning"
        ? `conversations 1–${TUNING_CONVERSATIONS} (tuning half)`
        : `conversations ${TUNING_CONVERSATIONS + 1}– (held-out half)`
      lines.push("", `## ${which}`, "", ...header(run, "retriever"), ...halfSummaries.map((s) => row(run, s.name, s.overall)))
      lines.push(...byCategoryTables(run, halfSummaries, `${half === "tuning" ? "Tuning" : "Held-out"} half: recall `))
    }
  }
  return lines.join("\n") + "\n"
}

/** The run as JSON-ready data: settings, dataset counts, summaries (and per half) and every question's scores. */
export const jsonReport = (run: EvalRun, extra: Readonly<Record<string, unknown>> = {}) => ({
  ...extra,
  settings: run.settings,
  dataset: run.dataset,
  summaries: summarizeRun(run),
  tuning_half: summarizeRun(run, inHalf("tuning")),
  held_out_half: summarizeRun(run, inHalf("held-out")),
  preparation: run.preparation,
  questions: run.questions
})
