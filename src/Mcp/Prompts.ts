import { McpServer } from "@effect/ai"
import { Effect, Schema } from "effect"
import type { McpDefaults } from "../Config/EngramConfig.js"
import type { SearchResult } from "../Domain/SearchRequest.js"
import { Search } from "../Search/Search.js"
import { recallWith } from "./Tools.js"
import { asRequest } from "./ToolInput.js"

/**
 * The recalled memories as the prompt shows them: the structured search results (episodes with
 * their excerpt, summary, facts and source message ids; unprocessed messages), as JSON.
 */
const recalledText = (result: SearchResult) =>
  JSON.stringify(
    {
      episodes: result.episodes.map((episode) => ({
        session_id: episode.session_id,
        date: new Date(episode.timestamp).toISOString(),
        subject: episode.subject,
        summary: episode.summary,
        excerpt: episode.episode,
        atomic_facts: episode.atomic_facts.map((fact) => ({ content: fact.content, message_ids: fact.message_ids })),
        message_ids: episode.message_ids
      })),
      unprocessed_messages: result.unprocessed_messages
    },
    null,
    2
  )

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
        const search = yield* Search
        const result = yield* recallWith(defaults, search, user_id === undefined ? { query: question } : { query: question, user_id })
        return `Memories recalled by Engram for this question (each with the ids of the messages it comes from):\n\n` +
          `${recalledText(result)}\n\nQuestion: ${question}`
      }).pipe(asRequest("prompt recall_context"))
  })
