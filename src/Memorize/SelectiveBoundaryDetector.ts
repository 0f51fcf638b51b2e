/**
 * # Asking the boundary model only when it matters
 *
 * EverOS asks the model about the whole buffer on every add, so a topic of n messages costs
 * O(n²) prompt tokens. This strategy ("selective", the default with a model) asks only when a
 * question can change something, and shows only what the decision needs:
 *
 * - **What the model has seen** is stored with each buffered message (`SeenMark`, written in the
 *   same transaction as the commit it led to). A run whose turns were all judged is never sent
 *   again: the model already said where it cuts, and nothing new arrived.
 * - **When to ask** (about a run that stays open): the model said the last topic looked finished
 *   (`should_wait: false`) and new turns followed it; or the unseen turns add up to
 *   `askAfterTokens`; or the offline segmenter (`localBoundaries`) sees a topic shift in the
 *   unseen turns. A run that closes anyway (flush, idle flush, a later date) is always asked about
 *   its unseen turns, so every message is judged by the model before it is committed; only the
 *   size caps cut in code without it.
 * - **What to send**: the last `CONTEXT_TURNS` judged turns, for context, then every turn from the
 *   first unseen one on. Cuts the model makes anywhere in that window are kept.
 *
 * Same memcells as asking on every add, for a model whose cuts depend on the messages around a
 * gap rather than on when it is asked: a cut between two turns is seen by some question whose
 * window holds both (and `CONTEXT_TURNS` before), and questions only come later, never fewer
 * before a commit. The bounded deviations: the model sees at most `CONTEXT_TURNS` judged turns
 * before the new ones (a decision that needs more history than that may differ), a cut is found
 * up to `askAfterTokens` of unseen text later than on every add (the memcell appears later; its
 * messages are the same), and a gap once judged "no cut" outside the window is not re-judged.
 * `test/Memorize/SelectiveBoundary.test.ts` checks the equality with a content-driven model.
 */
import { Effect } from "effect"
import type { LlmError } from "../Domain/Errors.js"
import type { DetectorMessage, RunDecision, RunTurn } from "./BoundaryDetector.js"
import type { BoundaryJudgement } from "./LlmBoundaryDetector.js"
import { localBoundaries } from "./LocalBoundaryDetector.js"

/** Judged turns shown before the first unseen one: enough to tell whether it starts a new topic. */
export const CONTEXT_TURNS = 3
/** Judged turns the offline segmenter compares the unseen ones with (it needs a few per side). */
export const LOCAL_CONTEXT_TURNS = 12

export interface SelectiveOptions {
  readonly judge: (messages: ReadonlyArray<DetectorMessage>) => Effect.Effect<BoundaryJudgement, LlmError>
  /** `Lexicon.terms`: the offline segmenter's view of a text. */
  readonly terms: (text: string) => ReadonlyArray<string>
  /** Unseen text (cl100k tokens) that is worth a question even without a sign of a topic shift. */
  readonly askAfterTokens: number
}

/** Why a run is worth a question now; undefined when it is not. */
export const askReason = (
  turns: ReadonlyArray<RunTurn>,
  firstUnseen: number,
  options: Pick<SelectiveOptions, "terms" | "askAfterTokens">
): "topic_done" | "unseen_text" | "local_shift" | undefined => {
  if (firstUnseen > 0 && turns[firstUnseen - 1]!.seen === "topic_done") return "topic_done"
  let unseenTokens = 0
  for (let i = firstUnseen; i < turns.length; i++) if (turns[i]!.seen === "unseen") unseenTokens += turns[i]!.tokens
  if (unseenTokens >= options.askAfterTokens) return "unseen_text"
  const from = Math.max(0, firstUnseen - LOCAL_CONTEXT_TURNS)
  const window = turns.slice(from)
  const cuts = localBoundaries(window.map((t) => options.terms(t.text)), window.map((t) => t.timestamp))
  // Cut b (1-based in the window) sits before turn from + b: a shift that involves an unseen turn.
  return cuts.some((b) => from + b >= firstUnseen) ? "local_shift" : undefined
}

/** The `decide` of a selective detector over `options.judge`. */
export const makeSelectiveDecide = (options: SelectiveOptions) =>
  Effect.fn("SelectiveBoundaryDetector.decide")(function*(turns: ReadonlyArray<RunTurn>, closing: boolean) {
    const firstUnseen = turns.findIndex((t) => t.seen === "unseen")
    // Nothing new since the model last judged this run, or nowhere to cut: no question.
    if (firstUnseen === -1 || turns.length < 2) return { boundaries: [] } satisfies RunDecision as RunDecision
    const reason = closing ? "closing" : askReason(turns, firstUnseen, options)
    yield* Effect.annotateCurrentSpan({ "engram.turns": turns.length, "engram.unseen_from": firstUnseen, "engram.ask": reason ?? "no" })
    if (reason === undefined) return { boundaries: [] } satisfies RunDecision as RunDecision
    const start = Math.max(0, firstUnseen - CONTEXT_TURNS)
    const judgement = yield* options.judge(turns.slice(start))
    return {
      boundaries: judgement.boundaries.map((b) => b + start),
      judged: { topicDone: judgement.shouldWait === false }
    } satisfies RunDecision as RunDecision
  })
