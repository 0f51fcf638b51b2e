import {
  BOUNDARY_SYSTEM_PROMPT,
  EPISODE_SYSTEM_PROMPT,
  FACT_SYSTEM_PROMPT,
  FORESIGHT_SYSTEM_PROMPT
} from "../../src/Llm/Prompts.js"

/**
 * Well-formed answers for every prompt Engram sends, chosen by the system prompt: what a
 * cooperative model would say. Used behind FakeLlmServer by tests and benchmarks that exercise
 * the real OpenAI client path without a real model.
 */

export type ModelPurpose = "boundary" | "episode" | "facts" | "foresight" | "unknown"

interface ChatBody {
  readonly messages?: ReadonlyArray<{ readonly role?: string; readonly content?: string }>
}

export const purposeOf = (body: unknown): ModelPurpose => {
  const system = (body as ChatBody | undefined)?.messages?.[0]?.content
  switch (system) {
    case BOUNDARY_SYSTEM_PROMPT:
      return "boundary"
    case EPISODE_SYSTEM_PROMPT:
      return "episode"
    case FACT_SYSTEM_PROMPT:
      return "facts"
    case FORESIGHT_SYSTEM_PROMPT:
      return "foresight"
    default:
      return "unknown"
  }
}

/** Numbered transcript lines (`[N] ...`) in the user prompt. */
const transcriptLength = (body: unknown): number =>
  ((body as ChatBody | undefined)?.messages?.[1]?.content ?? "").split("\n").filter((line) => /^\[\d+\]/.test(line)).length

export interface ScriptedModelOptions {
  /** The boundary answer cuts once this many messages are buffered (keeping the last open). Default 4. */
  readonly cutEvery?: number
}

/** The JSON text a cooperative model answers to `body` (an OpenAI chat-completions request). */
export const scriptedAnswer = (body: unknown, options: ScriptedModelOptions = {}): string => {
  switch (purposeOf(body)) {
    case "boundary": {
      const n = transcriptLength(body)
      const boundaries = n >= (options.cutEvery ?? 4) ? [n - 1] : []
      return JSON.stringify({ reasoning: "scripted", boundaries, should_wait: false })
    }
    case "episode":
      return JSON.stringify({ title: "A conversation", content: "They talked about their plans.", summary: "They talked." })
    case "facts":
      return JSON.stringify({ facts: [{ content: "The user talked about plans.", message_numbers: [1] }] })
    case "foresight":
      return JSON.stringify({ items: [] })
    case "unknown":
      return JSON.stringify({ error: "unknown prompt" })
  }
}
