import { ParseResult, Schema } from "effect"

/**
 * The filter language of get and search: `session_id`, `sender_id` and `timestamp`, each either a
 * plain value (equality) or an operator object `{eq, ne, gt, gte, lt, lte, in}`, combined with
 * `AND` / `OR` lists (all keys of one object are ANDed). Unknown keys are errors, so a typo is
 * a 422 naming it rather than a filter silently ignored.
 */

/** Epoch milliseconds, given as a number or an ISO-8601 string. */
export const FilterTimestamp = Schema.Union(
  Schema.Number.pipe(Schema.int({ message: () => "must be epoch milliseconds (an integer) or an ISO-8601 string" })),
  Schema.transformOrFail(Schema.String, Schema.Number, {
    strict: true,
    decode: (text, _, ast) => {
      const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN
      return Number.isFinite(ms)
        ? ParseResult.succeed(ms)
        : ParseResult.fail(new ParseResult.Type(ast, text, "must be epoch milliseconds or an ISO-8601 date-time"))
    },
    encode: (ms) => ParseResult.succeed(new Date(ms).toISOString())
  })
)

const operators = <A, I>(value: Schema.Schema<A, I>) =>
  Schema.Struct({
    eq: Schema.optional(value),
    ne: Schema.optional(value),
    gt: Schema.optional(value),
    gte: Schema.optional(value),
    lt: Schema.optional(value),
    lte: Schema.optional(value),
    in: Schema.optional(Schema.Array(value).pipe(Schema.minItems(1), Schema.maxItems(1000)))
  }).pipe(
    Schema.filter((ops) => Object.keys(ops).length > 0 || "needs at least one of eq, ne, gt, gte, lt, lte, in")
  )

const condition = <A, I>(value: Schema.Schema<A, I>) => Schema.Union(value, operators(value))

const Text = Schema.String.pipe(Schema.maxLength(256))

export type Operator = "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "in"
export type Condition<A> = A | { readonly [K in Operator]?: (K extends "in" ? ReadonlyArray<A> : A) | undefined }

export interface Filters {
  readonly session_id?: Condition<string> | undefined
  readonly sender_id?: Condition<string> | undefined
  readonly timestamp?: Condition<number> | undefined
  readonly AND?: ReadonlyArray<Filters> | undefined
  readonly OR?: ReadonlyArray<Filters> | undefined
}

interface FiltersEncoded {
  readonly session_id?: Condition<string> | undefined
  readonly sender_id?: Condition<string> | undefined
  readonly timestamp?: Condition<number | string> | undefined
  readonly AND?: ReadonlyArray<FiltersEncoded> | undefined
  readonly OR?: ReadonlyArray<FiltersEncoded> | undefined
}

export const Filters: Schema.Schema<Filters, FiltersEncoded> = Schema.Struct({
  session_id: Schema.optional(condition(Text)),
  sender_id: Schema.optional(condition(Text)),
  timestamp: Schema.optional(condition(FilterTimestamp)),
  AND: Schema.optional(Schema.Array(Schema.suspend((): Schema.Schema<Filters, FiltersEncoded> => Filters)).pipe(Schema.maxItems(50))),
  OR: Schema.optional(Schema.Array(Schema.suspend((): Schema.Schema<Filters, FiltersEncoded> => Filters)).pipe(Schema.maxItems(50)))
}).annotations({ parseOptions: { onExcessProperty: "error" }, identifier: "Filters" })

export const FILTER_FIELDS = ["session_id", "sender_id", "timestamp"] as const
export type FilterField = typeof FILTER_FIELDS[number]

/** One comparison, in a form any storage can translate. */
export interface Comparison {
  readonly field: FilterField
  readonly op: Operator
  readonly value: string | number | ReadonlyArray<string | number>
}

/** A filter tree normalised to AND/OR of comparisons (what storage layers compile). */
export type FilterTree =
  | { readonly _tag: "And"; readonly children: ReadonlyArray<FilterTree> }
  | { readonly _tag: "Or"; readonly children: ReadonlyArray<FilterTree> }
  | { readonly _tag: "Compare"; readonly comparison: Comparison }

const isOperatorObject = (value: unknown): value is Record<Operator, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

export const toFilterTree = (filters: Filters): FilterTree => {
  const children: Array<FilterTree> = []
  for (const field of FILTER_FIELDS) {
    const cond = filters[field]
    if (cond === undefined) continue
    if (isOperatorObject(cond)) {
      for (const [op, value] of Object.entries(cond)) {
        if (value !== undefined) children.push({ _tag: "Compare", comparison: { field, op: op as Operator, value: value as Comparison["value"] } })
      }
    } else {
      children.push({ _tag: "Compare", comparison: { field, op: "eq", value: cond as string | number } })
    }
  }
  if (filters.AND !== undefined) children.push({ _tag: "And", children: filters.AND.map(toFilterTree) })
  if (filters.OR !== undefined) children.push({ _tag: "Or", children: filters.OR.map(toFilterTree) })
  return { _tag: "And", children }
}

/** The session a filter pins (a top-level `session_id` equality), if any. */
export const pinnedSession = (filters: Filters | undefined): string | undefined => {
  const cond = filters?.session_id
  if (typeof cond === "string") return cond
  if (isOperatorObject(cond) && typeof cond.eq === "string") return cond.eq
  return undefined
}
