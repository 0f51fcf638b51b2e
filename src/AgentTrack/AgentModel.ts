import { Context, Effect, Layer } from "effect"
import type { LlmError } from "../Domain/Errors.js"
import type { StoredMessage } from "../Domain/Message.js"
import { brief, promptText, senderLabel } from "../Extraction/Extractors.js"
import { askUntilDecoded, chatRequest } from "../Extraction/LlmExtractors.js"
import {
  AGENT_CASE_PROMPT_VERSION,
  AGENT_CASE_SYSTEM_PROMPT,
  AGENT_SKILL_PROMPT_VERSION,
  AGENT_SKILL_SYSTEM_PROMPT,
  AgentCaseAnswer,
  AgentSkillAnswer,
  agentSkillPrompt,
  type CasePromptInput,
  type SkillPromptInput
} from "../Llm/AgentPrompts.js"
import { decodeJsonAnswer } from "../Llm/JsonAnswer.js"
import { LlmClient } from "../Llm/LlmClient.js"
import { formatTranscriptLines } from "../Llm/Prompts.js"
import { makeZonedCalendar } from "../Text/Calendar.js"
import { ASSISTANT_CHARS, type CaseDraft, TOOL_RESULT_CHARS } from "./Trajectory.js"

/**
 * The agent track's model: one compression call per agent trajectory (null: not worth a case),
 * one call per case to write or update its skill. Absent: cases and skills are built offline.
 */
export class AgentModel extends Context.Tag("engram/AgentModel")<
  AgentModel,
  {
    readonly compressCase: (agent: string, messages: ReadonlyArray<StoredMessage>) => Effect.Effect<CaseDraft | null, LlmError>
    readonly writeSkill: (skill: SkillPromptInput | undefined, kase: CasePromptInput) => Effect.Effect<typeof AgentSkillAnswer.Type, LlmError>
  }
>() {}

const decodeCase = decodeJsonAnswer(AgentCaseAnswer)
const decodeSkill = decodeJsonAnswer(AgentSkillAnswer)
const calendar = makeZonedCalendar("UTC")

export const LlmAgentModel = Layer.effect(
  AgentModel,
  Effect.gen(function*() {
    const llm = yield* LlmClient

    const compressCase = Effect.fn("AgentModel.compressCase")(function*(agent: string, messages: ReadonlyArray<StoredMessage>) {
      const lines = messages.map((m) => ({
        at: m.timestamp,
        sender: senderLabel(m),
        content: brief(promptText(m, messages), m.role === "tool" ? TOOL_RESULT_CHARS : ASSISTANT_CHARS)
      }))
      const answer = yield* askUntilDecoded(
        llm,
        chatRequest("agent_case", AGENT_CASE_SYSTEM_PROMPT, `Agent: ${agent}\nTimes in UTC.\n${formatTranscriptLines(lines, calendar)}`),
        AGENT_CASE_PROMPT_VERSION,
        decodeCase
      )
      if (!answer.worth_keeping) return null
      return {
        agent_id: agent,
        task_intent: answer.task_intent,
        approach: answer.approach,
        key_insight: answer.key_insight,
        outcome: answer.outcome,
        quality_score: answer.quality_score,
        message_ids: messages.map((m) => m.message_id)
      } satisfies CaseDraft
    })

    const writeSkill = Effect.fn("AgentModel.writeSkill")(function*(skill: SkillPromptInput | undefined, kase: CasePromptInput) {
      return yield* askUntilDecoded(
        llm,
        chatRequest("agent_skill", AGENT_SKILL_SYSTEM_PROMPT, agentSkillPrompt(skill, kase)),
        AGENT_SKILL_PROMPT_VERSION,
        decodeSkill
      )
    })

    return { compressCase, writeSkill }
  })
)
