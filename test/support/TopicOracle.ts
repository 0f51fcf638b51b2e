import type { IncomingMessage } from "../../src/Domain/Message.js"
import { purposeOf, scriptedAnswer } from "./ScriptedModel.js"

/**
 * A content-driven fake model for a known conversation: it recognises each transcript line of a
 * prompt as a turn of the conversation (by its text) and cuts wherever the conversation's topic
 * changes, whatever window of the buffer it is shown. So the boundaries it gives depend on the
 * conversation only, never on how often or with how much context it was asked: the property a
 * boundary strategy that asks less must preserve.
 */
export interface TopicOracle {
  readonly turns: number
  /** The conversation index of each numbered transcript line of a prompt (undefined: unknown line). */
  readonly indexesOf: (prompt: string) => ReadonlyArray<number | undefined>
  readonly purposeOf: (body: unknown) => string
}

const text = (message: IncomingMessage) =>
  (typeof message.content === "string" ? message.content : message.content.map((c) => ("text" in c ? String(c.text) : "")).join("\n"))
    .replace(/\r?\n/g, "\\n")

export const topicOracle = (messages: ReadonlyArray<IncomingMessage>): TopicOracle => {
  const byText = new Map<string, Array<number>>()
  messages.forEach((message, index) => {
    const key = text(message)
    byText.set(key, [...(byText.get(key) ?? []), index])
  })
  const indexesOf = (prompt: string) => {
    let previous = -1
    return prompt.split("\n").flatMap((line) => {
      const numbered = /^\[\d+\] (.*)$/.exec(line)
      if (numbered === null) return []
      const rest = numbered[1]!
      // The content follows "sender: "; take the longest suffix after a ": " that is a known turn.
      for (let at = rest.indexOf(": "); at !== -1; at = rest.indexOf(": ", at + 1)) {
        const candidates = byText.get(rest.slice(at + 2))
        if (candidates === undefined) continue
        const index = candidates.find((i) => i > previous) ?? candidates[0]!
        previous = index
        return [index]
      }
      return [undefined]
    })
  }
  return { turns: messages.length, indexesOf, purposeOf }
}

interface ChatBody {
  readonly messages?: ReadonlyArray<{ readonly content?: string }>
}

/**
 * The answer of a model for which the conversation changes topic after every `topicLength`-th
 * turn: boundary prompts get exactly those cuts (and `should_wait: false` when the window ends on
 * such a turn); extraction prompts get the scripted well-formed answers.
 */
export const contentDrivenAnswer = (body: unknown, oracle: TopicOracle, topicLength: number): string => {
  if (purposeOf(body) !== "boundary") return scriptedAnswer(body)
  const prompt = (body as ChatBody).messages?.at(-1)?.content ?? ""
  const indexes = oracle.indexesOf(prompt)
  const endsTopic = (index: number | undefined) => index !== undefined && (index + 1) % topicLength === 0
  const boundaries = indexes.flatMap((index, i) => (i + 1 < indexes.length && endsTopic(index) ? [i + 1] : []))
  return JSON.stringify({ reasoning: "topic oracle", boundaries, should_wait: !endsTopic(indexes.at(-1)) })
}
