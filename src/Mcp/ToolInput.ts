import { HttpApiError } from "@effect/platform"
import { Data, Effect, JSONSchema, Option, Record, Schema } from "effect"
import type { McpDefaults } from "../Config/EngramConfig.js"
import { describeCause } from "../Http/ErrorMapping.js"

/**
 * How MCP tool input is checked: a tool advertises a model-facing JSON Schema, but its arguments
 * are decoded by the HTTP request Schemas (src/Domain/*Request.ts), so every rule and every error
 * message is the HTTP contract's.
 */

/** A failed tool call as the client sees it: the code and message the HTTP API would answer with. */
export const ToolFailure = Schema.Struct({ code: Schema.String, message: Schema.String })
export type ToolFailure = typeof ToolFailure.Type

/**
 * Tool parameters that show clients the JSON Schema of `shown` but accept any object (extra keys
 * kept): the toolkit's own decoding would reject bad input with its own wording, before the HTTP
 * Schema could say which field is wrong and why.
 */
export const advertised = <Fields extends Schema.Struct.Fields>(shown: Schema.Struct<Fields>) => {
  const { $schema: _, ...jsonSchema } = JSONSchema.make(shown)
  const accepted = Record.map(shown.fields, () => Schema.optional(Schema.Unknown))
  return Schema.Struct(accepted, Schema.Record({ key: Schema.String, value: Schema.Unknown })).annotations({ jsonSchema })
}

/** Tool arguments as they arrive: any JSON object. */
export type ToolArgs = { readonly [key: string]: unknown }

/** Decodes `input` with an HTTP request Schema; a failure is the error HTTP decoding reports. */
export const decodeAs = <A, I>(schema: Schema.Schema<A, I>, input: unknown) =>
  Schema.decodeUnknown(schema)(input).pipe(Effect.catchAll(HttpApiError.HttpApiDecodeError.refailParseError))

/**
 * Runs a tool's work. Any failure (or defect) becomes a `ToolFailure` with the code and message the
 * HTTP edge gives it, through the same mapping; internal failures are logged, never sent.
 */
export const asToolCall = (name: string) => <A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<A, ToolFailure, R> =>
  work.pipe(
    Effect.catchAllCause((cause) =>
      Effect.gen(function*() {
        const failure = describeCause(cause)
        if (failure.log) yield* Effect.logError("MCP request failed", cause).pipe(Effect.annotateLogs({ mcp: name }))
        return yield* Effect.fail<ToolFailure>({ code: failure.code, message: failure.message })
      })
    )
  )

/** A resource read or prompt that failed; MCP answers it as a JSON-RPC error with this message. */
export class McpRequestFailed extends Data.TaggedError("McpRequestFailed")<ToolFailure> {}

/** Like `asToolCall`, for resources and prompts: the failure is an error whose message is the HTTP one. */
export const asRequest = (name: string) => <A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<A, McpRequestFailed, R> =>
  asToolCall(name)(work).pipe(Effect.mapError((failure) => new McpRequestFailed(failure)))

/**
 * The arguments with the configured scope filled in where the client left it out (`app_id`,
 * `project_id`); left absent otherwise, so the HTTP default (`default`) applies.
 */
export const withScopeDefaults = (defaults: McpDefaults, args: ToolArgs): ToolArgs => ({
  ...args,
  ...(args.app_id === undefined && Option.isSome(defaults.appId) ? { app_id: defaults.appId.value } : {}),
  ...(args.project_id === undefined && Option.isSome(defaults.projectId) ? { project_id: defaults.projectId.value } : {})
})

/** The arguments with the configured user filled in when the client gave none. */
export const withUserDefault = (defaults: McpDefaults, args: ToolArgs): ToolArgs =>
  args.user_id === undefined && Option.isSome(defaults.userId) ? { ...args, user_id: defaults.userId.value } : args

/** Whether a value is a plain JSON object (not an array or null). */
export const isObject = (value: unknown): value is ToolArgs =>
  typeof value === "object" && value !== null && !Array.isArray(value)
