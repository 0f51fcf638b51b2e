import type { CaseStep } from "../Domain/TrackItems.js"
import type { StoredMessage } from "../Domain/Message.js"
import { brief, type MemcellInput, safeText, toolCallsOf, toolNameOf } from "../Extraction/Extractors.js"

/**
 * An agent's trajectory in a memcell and the offline case made from it. Pure, linear in the cell.
 * An agent is a sender of `assistant` messages; its trajectory is the cell's user messages, its
 * own messages and the tool results answering its calls.
 */

/** Agents per memcell that get a case (each costs one model call, plus one per skill update). */
export const MAX_AGENTS_PER_MEMCELL = 3
/** Trims, in characters (EverOS trims tool output, tool arguments and assistant text by tokens). */
export const TOOL_RESULT_CHARS = 800
export const TOOL_ARGUMENT_CHARS = 600
export const ASSISTANT_CHARS = 1_500
const INTENT_CHARS = 300
/** Without tools, a case needs a real exchange: EverOS's thresholds (≈ 200 tokens ≈ 800 characters). */
const MIN_USER_MESSAGES = 2
const MIN_MESSAGES = 5
const MIN_ASSISTANT_CHARS = 800
/** A trajectory this large is not compressed (EverOS gives up near 200k tokens). */
export const MAX_TRAJECTORY_CHARS = 600_000

const FAILURE = /\b(couldn'?t|could not|unable to|failed|cannot|can't|did not work|didn'?t work|not possible|gave up)\b/i
const ERROR = /\b(error|exception|traceback|failed|failure|not found|denied|refused|fatal|panic)\b/i

/** Distinct assistant senders, first-seen order, at most MAX_AGENTS_PER_MEMCELL. */
export const agentsOf = (input: MemcellInput): ReadonlyArray<string> => {
  const seen = new Set<string>()
  for (const m of input.messages) if (m.role === "assistant") seen.add(m.sender_id)
  return Array.from(seen).slice(0, MAX_AGENTS_PER_MEMCELL)
}

/** The messages of `agent`'s trajectory, in cell order. */
export const trajectoryOf = (input: MemcellInput, agent: string): ReadonlyArray<StoredMessage> => {
  const callIds = new Set<string>()
  for (const m of input.messages) {
    if (m.role !== "assistant" || m.sender_id !== agent) continue
    for (const call of toolCallsOf(m)) if (call.id !== undefined) callIds.add(call.id)
  }
  const single = agentsOf(input).length === 1
  return input.messages.filter((m) =>
    m.role === "user" ||
    (m.role === "assistant" && m.sender_id === agent) ||
    (m.role === "tool" && (single || (m.tool_call_id !== null && callIds.has(m.tool_call_id))))
  )
}

const hasTools = (messages: ReadonlyArray<StoredMessage>) => messages.some((m) => m.role === "tool" || toolCallsOf(m).length > 0)

/**
 * Worth a case: the trajectory ends with the agent's final answer (an assistant message without
 * tool calls), and either used tools or was a real exchange (several user turns, enough text).
 */
export const worthACase = (messages: ReadonlyArray<StoredMessage>): boolean => {
  const last = messages[messages.length - 1]
  if (last === undefined || last.role !== "assistant" || toolCallsOf(last).length > 0) return false
  if (hasTools(messages)) return true
  const users = messages.filter((m) => m.role === "user").length
  const assistantChars = messages.filter((m) => m.role === "assistant").reduce((n, m) => n + safeText(m.content).length, 0)
  return users >= MIN_USER_MESSAGES && messages.length >= MIN_MESSAGES && assistantChars >= MIN_ASSISTANT_CHARS
}

export interface CaseDraft {
  readonly agent_id: string
  readonly task_intent: string
  readonly approach: ReadonlyArray<CaseStep>
  readonly key_insight: string
  readonly outcome: string
  readonly quality_score: number
  readonly message_ids: ReadonlyArray<string>
}

/**
 * The offline case: the first user request as the intent, each tool call with its (trimmed)
 * result as a step (or, without tools, the agent's intermediate answers), the final assistant
 * message as the outcome; errors that were followed by a success become the key insight.
 */
export const offlineCase = (agent: string, messages: ReadonlyArray<StoredMessage>): CaseDraft => {
  const firstUser = messages.find((m) => m.role === "user")
  const final = messages[messages.length - 1]!
  const steps: Array<CaseStep> = []
  const resultsByCall = new Map<string, string>()
  for (const m of messages) {
    if (m.role === "tool" && m.tool_call_id !== null) resultsByCall.set(m.tool_call_id, brief(safeText(m.content), TOOL_RESULT_CHARS))
  }
  for (const m of messages) {
    if (m.role !== "assistant" || m === final) continue
    const calls = toolCallsOf(m)
    if (calls.length === 0) {
      const text = brief(safeText(m.content), ASSISTANT_CHARS)
      if (text.length > 0) steps.push({ action: text, result: "" })
      continue
    }
    for (const call of calls) {
      const args = brief(call.arguments, TOOL_ARGUMENT_CHARS)
      steps.push({
        action: `${call.name ?? "tool"}(${args})`,
        result: call.id === undefined ? "" : resultsByCall.get(call.id) ?? ""
      })
    }
  }
  // Tool results without a matching call (flat histories) still tell what happened.
  if (steps.every((s) => s.result === "")) {
    for (const m of messages) {
      if (m.role === "tool") steps.push({ action: `${toolNameOf(m, messages)} returned`, result: brief(safeText(m.content), TOOL_RESULT_CHARS) })
    }
  }
  const outcome = brief(safeText(final.content), ASSISTANT_CHARS)
  const errors = steps.filter((s) => ERROR.test(s.result))
  const failed = FAILURE.test(outcome)
  const lastError = errors[errors.length - 1]
  const key_insight = lastError !== undefined && !failed
    ? brief(`After "${lastError.result}", ${steps[steps.indexOf(lastError) + 1]?.action ?? "the final answer"} worked`, 300)
    : brief(outcome.split(/(?<=[.!?])\s/)[0] ?? outcome, 300)
  return {
    agent_id: agent,
    task_intent: brief(firstUser === undefined ? outcome : safeText(firstUser.content), INTENT_CHARS),
    approach: steps,
    key_insight,
    outcome,
    quality_score: failed ? 0.3 : Math.max(0.5, 0.9 - 0.1 * errors.length),
    message_ids: messages.map((m) => m.message_id)
  }
}
