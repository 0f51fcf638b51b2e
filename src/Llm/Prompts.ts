import { Schema } from "effect"

/**
 * Every prompt Engram sends lives here, each with a version constant (bump it whenever the wording
 * or the contract changes, so stored results can say which prompt produced them) and the Schema of
 * the JSON answer it asks for.
 */

// ---------------------------------------------------------------------------------------------
// Boundary detection
// ---------------------------------------------------------------------------------------------

export const BOUNDARY_PROMPT_VERSION = "boundary/1"

/**
 * The boundary answer contract:
 *
 * ```json
 * {"reasoning": "one or two sentences", "boundaries": [3, 7], "should_wait": false}
 * ```
 *
 * - `boundaries`: 1-based message numbers; `b` means "cut after message b". Required, an array of
 *   integers (may be empty). Out-of-range values and duplicates are dropped by the caller.
 * - `reasoning`: why; informational (useful in traces), not checked.
 * - `should_wait`: the model thinks the last topic is still open; informational, not checked.
 *
 * Only `boundaries` is decoded strictly: a reply with a usable cut list but an odd `reasoning`
 * must not cost another model call.
 */
export const BoundaryAnswer = Schema.Struct({
  boundaries: Schema.Array(Schema.Int)
})
export type BoundaryAnswer = typeof BoundaryAnswer.Type

export const BOUNDARY_SYSTEM_PROMPT = `You segment a chat transcript into topical episodes for a long-term memory system.

You receive numbered messages, one per line, in the form:
[N] [ISO-8601 timestamp] sender_name: content

Decide after which messages one episode ends and the next begins. A boundary b means "cut after message b".

Rules:
1. Merge by default. Consecutive messages about the same subject, task or thread belong together.
2. Split when the conversation changes to a substantively different topic.
3. Split after a task is finished (a question answered, a problem solved, a plan agreed) when the next message starts a new topic.
4. Split when more than 4 hours pass between two messages and the later message starts a new topic.
5. Always split between two messages whose timestamps fall on different calendar dates.
6. Never split because of greetings, thanks, acknowledgements or small talk alone; attach them to the neighbouring topic.
7. Never put a boundary after the last message: the conversation may continue.

Answer with a single JSON object and nothing else:
{"reasoning": "<one or two sentences>", "boundaries": [<message numbers>], "should_wait": <true|false>}

- "boundaries" lists message numbers in ascending order; use [] when everything is one episode.
- "should_wait" is true when the last topic still looks unfinished.`

/** One transcript line per message: `[N] [timestamp] sender: content`, content kept on one line. */
export interface BoundaryPromptLine {
  readonly timestamp: string
  readonly sender: string
  readonly content: string
}

export const formatBoundaryLines = (lines: ReadonlyArray<BoundaryPromptLine>): string =>
  lines
    .map((line, i) => `[${i + 1}] [${line.timestamp}] ${line.sender}: ${line.content.replace(/\r?\n/g, "\\n")}`)
    .join("\n")

export const boundaryUserPrompt = (lines: ReadonlyArray<BoundaryPromptLine>): string =>
  `Messages (${lines.length}):\n${formatBoundaryLines(lines)}\n\nAnswer with the JSON object only.`
