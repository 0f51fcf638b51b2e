import { McpServer } from "@effect/ai"
import { Effect, Schema } from "effect"
import type { McpDefaults } from "../Config/EngramConfig.js"
import type { SearchResult } from "../Domain/SearchRequest.js"
import { SearchEntry } from "../Search/SearchEntry.js"
import { recallWith } from "./Tools.js"
import { asRequest } from "./ToolInput.js"

/** What the prompt shows: search's packed context (recall always asks for one; it covers unprocessed messages too). */
const recalledText = (result: SearchResult) =>
  result.context !== undefined && result.context.length > 0 ? result.context : "(nothing relevant remembered)"

/** `recall_context`: one user message holding what Engram recalls for a question, then the question. */
export const engramPrompts = (defaults: McpDefaults) =>
  McpServer.prompt({
    name: "recall_context",
    description: "Answer a question with what Engram remembers: recalls the memories relevant to the question and puts " +
      "them, followed by the question, into the conversation.",
    parameters: Schema.Struct({
      question: Schema.String.annotations({ description: "The question to answer (also the memory search query)." }),
      user_id: Schema.optionalWith(Schema.String.annotations({ description: "Whose memory to recall; default: the configured user." }), {
        exact: true
      })
    }),
    content: ({ question, user_id }) =>
      Effect.gen(function*() {
        const search = yield* SearchEntry
        const result = yield* recallWith(defaults, search, user_id === undefined ? { query: question } : { query: question, user_id })
        return `What Engram remembers that may help (dated lines of earlier conversations):\n\n` +
          `${recalledText(result)}\n\nQuestion: ${question}`
      }).pipe(asRequest("prompt recall_context"))
  })
