import { type IncomingMessage, messageText } from "../../src/Domain/Message.js"
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

const text = (message: IncomingMessage) => messageText(message.content).replace(/\r?\n/g, "\\n")

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
 * The boundary answer of a model for which the conversation's topic ends after each turn
 * `endsTopic` names: exactly those cuts inside the window, and `should_wait: false` when the
 * window ends on such a turn.
 */
export const topicBoundaryAnswer = (prompt: string, oracle: TopicOracle, endsTopic: (index: number) => boolean): string => {
  const indexes = oracle.indexesOf(prompt)
  const ends = (index: number | undefined) => index !== undefined && endsTopic(index)
  const boundaries = indexes.flatMap((index, i) => (i + 1 < indexes.length && ends(index) ? [i + 1] : []))
  return JSON.stringify({ reasoning: "topic oracle", boundaries, should_wait: !ends(indexes.at(-1)) })
}

/**
 * What a content-driven model answers to an OpenAI request body: boundary prompts as
 * `topicBoundaryAnswer` (a topic every `topicLength` turns), extraction prompts the scripted
 * well-formed answers.
 */
export const contentDrivenAnswer = (body: unknown, oracle: TopicOracle, topicLength: number): string =>
  purposeOf(body) === "boundary"
    ? topicBoundaryAnswer((body as ChatBody).messages?.at(-1)?.content ?? "", oracle, (index) => (index + 1) % topicLength === 0)
    : scriptedAnswer(body)
