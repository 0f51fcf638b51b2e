import { Either, ParseResult, Schema } from "effect"

/**
 * Models wrap JSON in prose, Markdown fences or `<think>` blocks even when told not to. These
 * helpers find the JSON inside such text, then check it against a Schema; the reason string of a
 * failure is short and safe to put in an error (it never repeats the prompt).
 */

const THINK_BLOCK = /<think>[\s\S]*?<\/think>/gi
const FENCED_BLOCK = /```([A-Za-z0-9_-]*)[ \t]*\r?\n?([\s\S]*?)```/g

/**
 * Each top-level balanced `{...}` in `text`, skipping braces inside JSON strings. Catches an
 * answer object that sits next to other braces (an example, a second object).
 */
const balancedObjects = (text: string): ReadonlyArray<string> => {
  const objects: Array<string> = []
  let depth = 0
  let start = -1
  let inString = false
  let escaped = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (inString) {
      if (escaped) escaped = false
      else if (ch === "\\") escaped = true
      else if (ch === "\"") inString = false
    } else if (ch === "\"") {
      inString = depth > 0
    } else if (ch === "{") {
      if (depth === 0) start = i
      depth++
    } else if (ch === "}" && depth > 0) {
      depth--
      if (depth === 0) objects.push(text.slice(start, i + 1))
    }
  }
  return objects
}

/**
 * Texts that may hold the JSON answer, most specific first: fenced ```json blocks, other fenced
 * blocks, the whole text, the span from the first `{` to the last `}`, then each balanced
 * top-level object.
 */
export const jsonCandidates = (text: string): ReadonlyArray<string> => {
  const cleaned = text.replace(/^\uFEFF/, "").replace(THINK_BLOCK, "").trim()
  const jsonFenced: Array<string> = []
  const otherFenced: Array<string> = []
  for (const match of cleaned.matchAll(FENCED_BLOCK)) {
    const language = (match[1] ?? "").toLowerCase()
    const body = (match[2] ?? "").trim()
    if (body.length === 0) continue
    if (language === "json") jsonFenced.push(body)
    else otherFenced.push(body)
  }
  const candidates = [...jsonFenced, ...otherFenced, cleaned]
  const first = cleaned.indexOf("{")
  const last = cleaned.lastIndexOf("}")
  if (first !== -1 && last > first) candidates.push(cleaned.slice(first, last + 1))
  candidates.push(...balancedObjects(cleaned))
  return Array.from(new Set(candidates))
}

const parseJson = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text) as unknown)
  } catch (error) {
    return Either.left(error instanceof Error ? error.message : String(error))
  }
}

/** `path: message` for each Schema issue, joined; short enough for an error reason. */
export const formatParseIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .slice(0, 5)
    .map((issue) => issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`)
    .join("; ")

/**
 * Finds the first JSON candidate in `text` that decodes with `schema`. Fails with a reason: either
 * no candidate was valid JSON, or the first JSON found did not match the schema.
 */
export const decodeJsonAnswer = <A, I>(schema: Schema.Schema<A, I, never>) => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all" })
  return (text: string): Either.Either<A, string> => {
    if (text.trim().length === 0) return Either.left("the answer is empty")
    let firstSchemaError: string | undefined
    for (const candidate of jsonCandidates(text)) {
      const parsed = parseJson(candidate)
      if (Either.isLeft(parsed)) continue
      const decoded = decode(parsed.right)
      if (Either.isRight(decoded)) return Either.right(decoded.right)
      firstSchemaError ??= formatParseIssues(decoded.left)
    }
    return Either.left(
      firstSchemaError === undefined
        ? "the answer contains no valid JSON"
        : `the JSON answer does not match the contract: ${firstSchemaError}`
    )
  }
}
