import { Options } from "@effect/cli"
import { Console, Effect, Schema } from "effect"
import { DEFAULT_SCOPE_ID } from "../Domain/Message.js"
import { firstIssue } from "../Domain/Validation.js"
import { InputError } from "./Input.js"

/** Every command answers with pretty JSON on stdout (progress and errors go to stderr). */
export const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

export const appOption = Options.text("app").pipe(Options.withDefault(DEFAULT_SCOPE_ID as string), Options.withDescription("App id (lowercase)"))

export const projectOption = Options.text("project").pipe(
  Options.withDefault(DEFAULT_SCOPE_ID as string),
  Options.withDescription("Project id (lowercase)")
)

/** Decodes flags through the same schema as the HTTP contract, so both refuse the same input. */
export const decodeRequest = <A, I>(schema: Schema.Schema<A, I>, input: unknown) =>
  Schema.decodeUnknown(schema)(input).pipe(Effect.mapError((error) => new InputError({ reason: firstIssue(error).text })))
