import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { LlmUnavailable } from "../Domain/Errors.js"

export const ChatRole = Schema.Literal("system", "user", "assistant")

export interface ChatMessage {
  readonly role: typeof ChatRole.Type
  readonly content: string
}

export interface ChatRequest {
  /** What the call is for ("boundary", "episode", ...): used in metrics, spans and errors. */
  readonly purpose: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly temperature?: number
  /** Ask the server for a JSON object answer when it supports `response_format`. */
  readonly json?: boolean
}

/** Token counts as the provider reported them (OpenAI's `usage`); either may be missing. */
export interface ChatUsage {
  readonly promptTokens: number | undefined
  readonly completionTokens: number | undefined
}

export interface ChatResponse {
  readonly content: string
  readonly model: string
  /** Absent when the provider sent no `usage`. */
  readonly usage?: ChatUsage
}

/**
 * A chat-completion model. Several implementations: the OpenAI-compatible HTTP client and the
 * deterministic fake used by tests; hence a Tag rather than a single Effect.Service.
 */
export class LlmClient extends Context.Tag("engram/LlmClient")<
  LlmClient,
  {
    readonly model: string
    readonly chat: (request: ChatRequest) => Effect.Effect<ChatResponse, LlmUnavailable>
  }
>() {}
