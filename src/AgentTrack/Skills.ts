import { brief } from "../Extraction/Extractors.js"
import type { SkillRow } from "./AgentRepo.js"
import type { CaseDraft } from "./Trajectory.js"

/**
 * How cases become skills, without a model: clustering by intent similarity and EverOS's
 * confidence rules. Pure.
 */

/** Cases below this quality teach nothing reusable (EverOS skips them too). */
export const MIN_SKILL_QUALITY = 0.2
/** A case at or above this quality is a success. */
export const SUCCESS_QUALITY = 0.5
/** Same cluster: cosine of intent embeddings, or Jaccard of intent terms without an embedder. */
export const SAME_CLUSTER_COSINE = 0.8
export const SAME_CLUSTER_JACCARD = 0.35
const MAX_PITFALLS = 10
const MAX_STEPS = 20

export const NEW_CONFIDENCE = 0.5
export const CONFIRMATION = 0.05
export const EXTENSION = 0.1
export const CONTRADICTION = 0.2
export const MAX_CONFIDENCE = 0.95

export type Verdict = "new" | "confirms" | "extends" | "contradicts"

export const nextConfidence = (current: number, verdict: Verdict): number => {
  switch (verdict) {
    case "new":
      return NEW_CONFIDENCE
    case "confirms":
      return Math.min(MAX_CONFIDENCE, current + CONFIRMATION)
    case "extends":
      return Math.min(MAX_CONFIDENCE, current + EXTENSION)
    case "contradicts":
      return Math.max(0, current - CONTRADICTION)
  }
}

export const jaccard = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): number => {
  const left = new Set(a)
  const right = new Set(b)
  if (left.size === 0 || right.size === 0) return 0
  let shared = 0
  for (const term of left) if (right.has(term)) shared++
  return shared / (left.size + right.size - shared)
}

type CaseLike = Pick<CaseDraft, "task_intent" | "approach" | "key_insight" | "outcome" | "quality_score">

const stepLine = (step: CaseDraft["approach"][number]) => step.result.length > 0 ? `${step.action} -> ${step.result}` : step.action
const pitfallOf = (c: CaseLike) => brief(c.key_insight.length > 0 ? `${c.key_insight} (${c.outcome})` : c.outcome, 400)

/**
 * The offline skill of a cluster: the steps of its best successful case, the pitfalls of its
 * failed ones; confidence by EverOS's rules from the new case's verdict.
 */
export const offlineSkill = (
  existing: SkillRow | undefined,
  clusterCases: ReadonlyArray<CaseLike>,
  added: CaseLike
): { readonly name: string; readonly description: string; readonly steps: ReadonlyArray<string>; readonly pitfalls: ReadonlyArray<string>; readonly verdict: Verdict } => {
  const all = [added, ...clusterCases]
  const successes = all.filter((c) => c.quality_score >= SUCCESS_QUALITY).sort((a, b) => b.quality_score - a.quality_score)
  const best = successes[0]
  const pitfalls = Array.from(new Set(all.filter((c) => c.quality_score < SUCCESS_QUALITY).map(pitfallOf))).slice(0, MAX_PITFALLS)
  const verdict: Verdict = existing === undefined ? "new" : added.quality_score >= SUCCESS_QUALITY ? "confirms" : "contradicts"
  return {
    name: existing?.name ?? brief(added.task_intent, 80),
    description: best === undefined ? `Attempts at: ${brief(added.task_intent, 200)}` : brief(`${best.task_intent}. ${best.key_insight}`, 400),
    steps: best === undefined ? [] : best.approach.slice(0, MAX_STEPS).map(stepLine),
    pitfalls,
    verdict
  }
}
