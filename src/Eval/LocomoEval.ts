/**
 * The LoCoMo evidence-recall run: every retriever prepares each conversation (Engram ingests it,
 * baselines index it), then answers every scored question; each answer is scored with
 * `scoreQuestion` and timed. Conversations run one after another, questions one at a time, so
 * latencies are those of an otherwise idle process.
 */
import { Duration, Effect } from "effect"
import { Lexicon } from "../Text/Lexicon.js"
import { type QuestionScore, scoreQuestion } from "./EvidenceRecall.js"
import { type LocomoCategory, type LocomoConversation, turnText } from "./LocomoData.js"
import type { Retriever } from "./Retriever.js"

export interface EvalSettings {
  /** Word budgets of returned text. */
  readonly budgets: ReadonlyArray<number>
  /** How many results each retriever is asked for. */
  readonly depth: number
  /** Categories scored (5, adversarial, has no evidence to find). */
  readonly categories: ReadonlyArray<LocomoCategory>
}

export const DEFAULT_SETTINGS: EvalSettings = {
  budgets: [250, 500, 1000],
  depth: 100,
  categories: [1, 2, 3, 4]
}

export interface ScoredAnswer extends QuestionScore {
  readonly latencyMs: number
}

export interface QuestionRecord {
  /** Position of the question's conversation in the data file (0-based). */
  readonly conversationIndex: number
  readonly sampleId: string
  readonly qaIndex: number
  readonly category: LocomoCategory
  readonly question: string
  readonly evidence: ReadonlyArray<string>
  /** Keyed by retriever name. */
  readonly answers: Readonly<Record<string, ScoredAnswer>>
}

export interface DatasetStats {
  readonly conversations: number
  readonly sessions: number
  readonly turns: number
  /** Questions of the scored categories that have evidence. */
  readonly scoredQuestions: number
  /** Questions of the scored categories left with no evidence after cleaning. */
  readonly unscoredQuestions: number
  /** Evidence tokens that are not turn ids, and ids naming no turn (in scored categories). */
  readonly malformedEvidence: number
  readonly unknownEvidence: number
}

export interface PreparationTime {
  readonly retriever: string
  readonly sampleId: string
  readonly ms: number
  readonly details: Readonly<Record<string, number>>
}

export interface EvalRun {
  readonly settings: EvalSettings
  readonly dataset: DatasetStats
  readonly retrievers: ReadonlyArray<{ readonly name: string; readonly description: string }>
  readonly preparation: ReadonlyArray<PreparationTime>
  readonly questions: ReadonlyArray<QuestionRecord>
}

/** Turn id → what the turn says (as ingested), for locating quotes in returned text. */
const messageTexts = (conversation: LocomoConversation): ReadonlyMap<string, string> =>
  new Map(conversation.sessions.flatMap((s) => s.turns.map((t) => [t.dia_id, turnText(t)] as const)))

const datasetStats = (conversations: ReadonlyArray<LocomoConversation>, settings: EvalSettings): DatasetStats => {
  const inScope = conversations.flatMap((c) => c.questions.filter((q) => settings.categories.includes(q.category)))
  return {
    conversations: conversations.length,
    sessions: conversations.reduce((n, c) => n + c.sessions.length, 0),
    turns: conversations.reduce((n, c) => n + c.sessions.reduce((m, s) => m + s.turns.length, 0), 0),
    scoredQuestions: inScope.filter((q) => q.evidence.length > 0).length,
    unscoredQuestions: inScope.filter((q) => q.evidence.length === 0).length,
    malformedEvidence: inScope.reduce((n, q) => n + q.malformedEvidence.length, 0),
    unknownEvidence: inScope.reduce((n, q) => n + q.unknownEvidence.length, 0)
  }
}

export const runLocomoEval = <E>(
  conversations: ReadonlyArray<LocomoConversation>,
  retrievers: ReadonlyArray<Retriever<E>>,
  settings: EvalSettings,
  progress: (line: string) => Effect.Effect<void>
): Effect.Effect<EvalRun, E, Lexicon> =>
  Effect.gen(function*() {
    const lexicon = yield* Lexicon
    const preparation: Array<PreparationTime> = []
    const questions: Array<QuestionRecord> = []
    for (const [position, conversation] of conversations.entries()) {
      const label = `[${position + 1}/${conversations.length}] ${conversation.sampleId}`
      const prepared = []
      for (const retriever of retrievers) {
        const [elapsed, ready] = yield* Effect.timed(retriever.prepare(conversation))
        preparation.push({ retriever: retriever.name, sampleId: conversation.sampleId, ms: Duration.toMillis(elapsed), details: ready.details ?? {} })
        yield* progress(`${label}: ${retriever.name} ready in ${(Duration.toMillis(elapsed) / 1000).toFixed(1)} s`)
        prepared.push({ name: retriever.name, ready })
      }
      const texts = messageTexts(conversation)
      const evidenceTexts = { text: (id: string) => texts.get(id), terms: lexicon.terms }
      const scored = conversation.questions.filter((q) => settings.categories.includes(q.category) && q.evidence.length > 0)
      for (const question of scored) {
        const answers: Record<string, ScoredAnswer> = {}
        for (const { name, ready } of prepared) {
          const [elapsed, results] = yield* Effect.timed(ready.retrieve(question.question, settings.depth))
          answers[name] = { ...scoreQuestion(question.evidence, results, evidenceTexts, settings), latencyMs: Duration.toMillis(elapsed) }
        }
        questions.push({
          conversationIndex: position,
          sampleId: conversation.sampleId,
          qaIndex: question.index,
          category: question.category,
          question: question.question,
          evidence: question.evidence,
          answers
        })
      }
      yield* progress(`${label}: ${scored.length} questions scored`)
    }
    return {
      settings,
      dataset: datasetStats(conversations, settings),
      retrievers: retrievers.map(({ description, name }) => ({ name, description })),
      preparation,
      questions
    }
  })
