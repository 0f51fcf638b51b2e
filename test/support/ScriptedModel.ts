import {
  BOUNDARY_SYSTEM_PROMPT,
  EPISODE_SYSTEM_PROMPT,
  FACT_SYSTEM_PROMPT,
  FORESIGHT_SYSTEM_PROMPT,
  MEMCELL_EXTRACTION_SYSTEM_PROMPT
} from "../../src/Llm/Prompts.js"

/**
 * Well-formed answers for every prompt Engram sends, chosen by the system prompt: what a
 * cooperative model would say. Used behind FakeLlmServer by tests and benchmarks that exercise
 * the real OpenAI client path without a real model.
 */

export type ModelPurpose = "boundary" | "episode" | "facts" | "foresight" | "extraction" | "unknown"

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
    case MEMCELL_EXTRACTION_SYSTEM_PROMPT:
      return "extraction"
    default:
      return "unknown"
  }
}

/** The sender ids of the `Users:` line of a combined extraction prompt. */
export const promptUsers = (body: unknown): ReadonlyArray<string> => {
  const prompt = (body as ChatBody | undefined)?.messages?.[1]?.content ?? ""
  const line = prompt.split("\n").find((l) => l.startsWith("Users: ")) ?? "Users: "
  return line.slice("Users: ".length).split("; ").filter((u) => u.length > 0).map((u) => u.replace(/ \(.*\)$/, ""))
}

const EPISODE = { title: "A conversation", content: "They talked about their plans.", summary: "They talked." }
const FACT = { content: "The user talked about plans.", message_numbers: [1] }

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
      return JSON.stringify(EPISODE)
    case "facts":
      return JSON.stringify({ facts: [FACT] })
    case "extraction":
      // The same memory the per-kind answers give, in the combined contract.
      return JSON.stringify({
        episodes: promptUsers(body).map((user) => ({ user, ...EPISODE })),
        facts: [{ content: FACT.content, lines: FACT.message_numbers }],
        foresight: []
      })
    case "foresight":
      return JSON.stringify({ items: [] })
    case "unknown":
      return JSON.stringify({ error: "unknown prompt" })
  }
}
