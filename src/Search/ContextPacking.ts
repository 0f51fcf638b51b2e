import type { ContextLine, UnprocessedMessage } from "../Domain/SearchRequest.js"
import type { EvidenceSpan } from "./Evidence.js"

/**
 * The context block: evidence spans best first (a blank line between spans), then buffered
 * messages (said since the last memcell) while they fit.
 */
export const packContext = (
  count: (text: string) => number,
  spans: ReadonlyArray<EvidenceSpan>,
  buffered: ReadonlyArray<UnprocessedMessage>,
  maxTokens: number
) => {
  const lines: Array<ContextLine> = []
  const blocks: Array<string> = []
  for (const span of spans) {
    blocks.push(span.lines.map((l) => l.line).join("\n"))
    for (const line of span.lines) lines.push({ kind: "message", text: line.line, message_ids: [line.message_id], score: span.score })
  }
  let used = count(blocks.join("\n\n"))
  const shownIds = new Set(lines.flatMap((l) => l.message_ids))
  const recent: Array<string> = []
  for (const message of buffered) {
    if (shownIds.has(message.message_id)) continue
    const text = `[${new Date(message.timestamp).toISOString().slice(0, 10)}] ${message.sender_id}: ${message.content.replace(/\s+/g, " ").trim()}`
    const cost = count(text) + 2
    if (used + cost > maxTokens) continue
    used += cost
    recent.push(text)
    lines.push({ kind: "message", text, message_ids: [message.message_id], score: 0 })
  }
  if (recent.length > 0) blocks.push(recent.join("\n"))
  const context = blocks.join("\n\n")
  return { context, context_tokens: count(context), context_lines: lines }
}
