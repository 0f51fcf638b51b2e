import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { decodeJsonAnswer, jsonCandidates } from "../../src/Llm/JsonAnswer.js"

const Answer = Schema.Struct({ boundaries: Schema.Array(Schema.Int) })
const decode = decodeJsonAnswer(Answer)

describe("decodeJsonAnswer", () => {
  it("decodes plain JSON", () => {
    expect(decode("{\"boundaries\": [2, 5]}")).toEqual(Either.right({ boundaries: [2, 5] }))
  })

  it("prefers a fenced ```json block", () => {
    const text = "Here you go {not this}:\n```json\n{\"boundaries\": [3]}\n```\nHope that helps."
    expect(decode(text)).toEqual(Either.right({ boundaries: [3] }))
  })

  it("reads an unlabelled ``` block", () => {
    expect(decode("```\n{\"boundaries\": []}\n```")).toEqual(Either.right({ boundaries: [] }))
  })

  it("falls back to the outermost braces inside prose", () => {
    const text = "Sure! The answer is {\"boundaries\": [1], \"nested\": {\"a\": 1}} as requested."
    expect(decode(text)).toEqual(Either.right({ boundaries: [1] }))
  })

  it("ignores <think> blocks", () => {
    const text = "<think>maybe {boundaries: 4}?</think>\n{\"boundaries\": [4]}"
    expect(decode(text)).toEqual(Either.right({ boundaries: [4] }))
  })

  it("tries the next candidate when a fenced block does not match the schema", () => {
    const text = "```json\n{\"other\": 1}\n```\n{\"boundaries\": [2]}"
    expect(decode(text)).toEqual(Either.right({ boundaries: [2] }))
  })

  it("finds one object among several, ignoring braces inside strings", () => {
    const text = "Example: {\"note\": \"use } carefully\"}. Answer: {\"boundaries\": [5]}"
    expect(decode(text)).toEqual(Either.right({ boundaries: [5] }))
  })

  it("fails with a reason when there is no JSON", () => {
    expect(decode("I cannot decide.")).toEqual(Either.left("the answer contains no valid JSON"))
    expect(decode("   ")).toEqual(Either.left("the answer is empty"))
    expect(Either.isLeft(decode("{\"boundaries\": [1, 2"))).toBe(true)
  })

  it("fails with the schema issue when JSON does not match", () => {
    const result = decode("{\"boundaries\": [\"2\"]}")
    expect(Either.isLeft(result)).toBe(true)
    expect(Either.getLeft(result).pipe((o) => o._tag === "Some" ? o.value : "")).toContain("boundaries.0")
    expect(Either.isLeft(decode("{\"boundaries\": [1.5]}"))).toBe(true)
    expect(Either.isLeft(decode("{\"reasoning\": \"x\"}"))).toBe(true)
  })

  it("lists candidates most specific first", () => {
    expect(jsonCandidates("x ```json\n{\"a\":1}\n``` y")).toEqual([
      "{\"a\":1}",
      "x ```json\n{\"a\":1}\n``` y"
    ])
  })
})
