import { Effect, Schema } from "effect"
import { IncomingMessage } from "../Domain/Message.js"
import { firstIssue } from "../Domain/Validation.js"

/** A messages file: a bare array of messages, or `{ "messages": [...] }` (other keys ignored). */
const MessagesFile = Schema.Union(
  Schema.Array(IncomingMessage),
  Schema.Struct({ messages: Schema.Array(IncomingMessage) }).pipe(
    Schema.transform(Schema.Array(Schema.typeSchema(IncomingMessage)), {
      strict: true,
      decode: (file) => file.messages,
      encode: (messages) => ({ messages })
    })
  )
)

export class InputError extends Schema.TaggedError<InputError>()("InputError", { reason: Schema.String }) {
  override get message() {
    return this.reason
  }
}

/** Parses and validates a messages file; the error names the first offending field. */
export const parseMessagesFile = (source: string, text: string) =>
  Effect.gen(function*() {
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (cause) => new InputError({ reason: `${source} is not valid JSON: ${(cause as Error).message}` })
    })
    return yield* Schema.decodeUnknown(MessagesFile)(json).pipe(
      Effect.mapError((error) => new InputError({ reason: `${source}: ${firstIssue(error).text}` }))
    )
  })
