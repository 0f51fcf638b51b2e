import { Schema } from "effect"

/**
 * The prompts of the agent track (see Prompts.ts for the conventions). A case is one compression
 * call over an agent's trajectory; a skill is written or updated by one call per case.
 */

export const AGENT_CASE_PROMPT_VERSION = "agent_case/1"

export const AGENT_CASE_SYSTEM_PROMPT = `You compress an AI agent's work on a task into a reusable case for its long-term memory.
Input: numbered messages "[N] time sender: text"; tool calls and results are shown in parentheses.
worth_keeping: false for small talk, a single trivial answer, or no real task.
task_intent: what the user wanted, at most 50 tokens.
approach: the sub-problems in order; each step's action (what was tried) and result. Keep commands, code, file paths and error messages verbatim.
key_insight: the one lesson that would help next time, at most 40 tokens.
outcome: how it ended. quality_score: 0 (failed) to 1 (fully solved), by outcome.
Write in the language of the conversation. Answer with JSON only.
{"worth_keeping": bool, "task_intent": str, "approach": [{"action": str, "result": str}], "key_insight": str, "outcome": str, "quality_score": number}`

export const AgentCaseAnswer = Schema.Struct({
  worth_keeping: Schema.Boolean,
  task_intent: Schema.String,
  approach: Schema.Array(Schema.Struct({ action: Schema.String, result: Schema.String })),
  key_insight: Schema.String,
  outcome: Schema.String,
  quality_score: Schema.Number.pipe(Schema.between(0, 1))
})
export type AgentCaseAnswer = typeof AgentCaseAnswer.Type

export const AGENT_SKILL_PROMPT_VERSION = "agent_skill/1"

export const AGENT_SKILL_SYSTEM_PROMPT = `You maintain an AI agent's skills: reusable procedures distilled from its past cases.
Input: the current skill (or "none") and a new case of a similar task.
Write the skill: name (short, imperative), description (when to use it), steps (the procedure from successful cases; keep commands and paths verbatim), pitfalls (what went wrong in failed cases and how to avoid it).
verdict: "new" when there was no skill, "confirms" when the case followed the skill and succeeded, "extends" when it adds a new branch or step, "contradicts" when the skill's steps failed or were wrong.
Write in the language of the case. Answer with JSON only.
{"name": str, "description": str, "steps": [str], "pitfalls": [str], "verdict": "new" | "confirms" | "extends" | "contradicts"}`

export const AgentSkillAnswer = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  steps: Schema.Array(Schema.String),
  pitfalls: Schema.Array(Schema.String),
  verdict: Schema.Literal("new", "confirms", "extends", "contradicts")
})
export type AgentSkillAnswer = typeof AgentSkillAnswer.Type

export interface SkillPromptInput {
  readonly name: string
  readonly description: string
  readonly steps: ReadonlyArray<string>
  readonly pitfalls: ReadonlyArray<string>
}

export interface CasePromptInput {
  readonly task_intent: string
  readonly approach: ReadonlyArray<{ readonly action: string; readonly result: string }>
  readonly key_insight: string
  readonly outcome: string
  readonly quality_score: number
}

export const agentSkillPrompt = (skill: SkillPromptInput | undefined, kase: CasePromptInput) =>
  [
    skill === undefined
      ? "Current skill: none"
      : [
        `Current skill: ${skill.name}`,
        `Description: ${skill.description}`,
        "Steps:",
        ...skill.steps.map((s, i) => `${i + 1}. ${s}`),
        "Pitfalls:",
        ...skill.pitfalls.map((p) => `- ${p}`)
      ].join("\n"),
    `New case (quality ${kase.quality_score.toFixed(2)}): ${kase.task_intent}`,
    ...kase.approach.map((step, i) => `${i + 1}. ${step.action} -> ${step.result}`),
    `Key insight: ${kase.key_insight}`,
    `Outcome: ${kase.outcome}`
  ].join("\n")
