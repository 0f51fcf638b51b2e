import type { ContextLine, UnprocessedMessage } from "../Domain/SearchRequest.js"
import type { EvidenceSpan } from "./Evidence.js"
import { lineDay } from "../Indexing/PassageIndex.js"
import type { FactLine } from "./FactLines.js"

/** Tokens between two blocks of the context (a blank line). */
const SEPARATOR_TOKENS = 1

type Block =
  | { readonly kind: "span"; readonly score: number; readonly span: EvidenceSpan }
  | { readonly kind: "fact"; readonly score: number; readonly fact: FactLine }

/**
 * The context block: evidence spans and fact lines by score, best first (a blank line between
 * blocks), each kept when it fits what is left of `maxTokens`; a fact whose messages the lines
 * above already show is left out, and so is a span's line whose message a fact above stated
 * (either would repeat what was shown). Then buffered messages (said since the last memcell) while
 * they fit. Ties keep spans first, each list in its own order.
 */
export const packContext = (
  count: (text: string) => number,
  spans: ReadonlyArray<EvidenceSpan>,
  facts: ReadonlyArray<FactLine>,
  buffered: ReadonlyArray<UnprocessedMessage>,
  maxTokens: number
) => {
  const ranked: Array<Block> = [
    ...spans.map((span): Block => ({ kind: "span", score: span.score, span })),
    ...facts.map((fact): Block => ({ kind: "fact", score: fact.score, fact }))
  ]
  // Stable: spans before facts of the same score, each list keeping its order.
  ranked.sort((a, b) => b.score - a.score)
  const lines: Array<ContextLine> = []
  const blocks: Array<string> = []
  // How many of `lines` each block holds, so a block trimmed at the end takes exactly its lines.
  const blockLines: Array<number> = []
  const shownIds = new Set<string>()
  let used = 0
  const fits = (text: string, lineCount: number) => {
    const cost = count(text) + (blocks.length > 0 ? SEPARATOR_TOKENS : 0)
    if (used + cost > maxTokens) return false
    used += cost
    blocks.push(text)
    blockLines.push(lineCount)
    return true
  }
  for (const block of ranked) {
    if (block.kind === "span") {
      const { span } = block
      // A line whose message a fact above already stated is left out of its span (it would repeat it).
      const fresh = span.lines.filter((line) => !shownIds.has(line.message_id))
      if (fresh.length === 0 || !fits(fresh.map((l) => l.line).join("\n"), fresh.length)) continue
      for (const line of fresh) {
        lines.push({ kind: "message", text: line.line, message_ids: [line.message_id], score: span.score })
        shownIds.add(line.message_id)
      }
    } else {
      const { fact } = block
      if (fact.message_ids.every((id) => shownIds.has(id)) || !fits(fact.text, 1)) continue
      lines.push({ kind: "fact", text: fact.text, message_ids: fact.message_ids, score: fact.score })
      for (const id of fact.message_ids) shownIds.add(id)
    }
  }
  const recent: Array<string> = []
  for (const message of buffered) {
    if (shownIds.has(message.message_id)) continue
    const text = `[${lineDay(message.timestamp)}] ${message.sender_id}: ${message.content.replace(/\s+/g, " ").trim()}`
    const cost = count(text) + 1
    if (used + cost > maxTokens) continue
    used += cost
    recent.push(text)
    lines.push({ kind: "message", text, message_ids: [message.message_id], score: 0 })
  }
  if (recent.length > 0) {
    blocks.push(recent.join("\n"))
    blockLines.push(recent.length)
  }
  // Counted pieces can tokenize apart a little differently than the whole: trim to the budget.
  while (blocks.length > 0 && count(blocks.join("\n\n")) > maxTokens) {
    blocks.pop()
    lines.length -= blockLines.pop()!
  }
  const context = blocks.join("\n\n")
  return { context, context_tokens: count(context), context_lines: lines }
}
