import { Effect } from "effect"
import { Tiktoken } from "js-tiktoken/lite"
import cl100kBase from "js-tiktoken/ranks/cl100k_base"

/**
 * Counts tokens the way OpenAI-family models do (cl100k_base), so the 65,536-token cap of a
 * memcell means what it says. Building the encoder takes ~250 ms, so it is built once per layer.
 */
export class TokenCounter extends Effect.Service<TokenCounter>()("engram/TokenCounter", {
  sync: () => {
    const encoder = new Tiktoken(cl100kBase)
    return {
      count: (text: string): number => (text.length === 0 ? 0 : encoder.encode(text, [], []).length)
    }
  }
}) {}
