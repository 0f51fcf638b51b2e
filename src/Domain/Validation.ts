import { ParseResult } from "effect"

/** The first problem of a failed decode, as `"<message>: <dotted.path>"` (the reference contract). */
export interface FirstIssue {
  readonly path: string
  readonly message: string
  /** `"<message>: <dotted.path>"`, or just the message for a problem with the whole value. */
  readonly text: string
}

export const firstIssue = (error: ParseResult.ParseError): FirstIssue => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const issue = issues[0]
  if (issue === undefined) return { path: "", message: error.message, text: error.message }
  const path = issue.path.map(String).join(".")
  const message = issue._tag === "Missing" ? "is required" : issue.message
  return { path, message, text: path.length > 0 ? `${message}: ${path}` : message }
}
