/**
 * TokenCounter counts what cl100k_base's reference encoder (js-tiktoken) counts, for every text
 * whose pre-tokens it merges exactly (up to MAX_MERGE_BYTES bytes each), and never less for the rest.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { Tiktoken } from "js-tiktoken/lite"
import cl100kBase from "js-tiktoken/ranks/cl100k_base"
import { MAX_MERGE_BYTES, TokenCounter } from "../../src/Text/TokenCounter.js"

const reference = new Tiktoken(cl100kBase)
const referenceCount = (text: string) => reference.encode(text, [], []).length
const longestPreToken = (text: string) =>
  Math.max(0, ...Array.from(text.matchAll(new RegExp(cl100kBase.pat_str, "gu")), (m) => Buffer.byteLength(m[0])))

/** Characters that exercise every pre-token class: letters, digits, punctuation, spaces, newlines, non-ASCII. */
const characters = fc.constantFrom(
  ..."abcXYZ019 .,!?'\n\t-_/+=()[]{}:;\"".split(""),
  "é", "ß", "ø", "日", "本", "語", "я", "ы", "😀", "👍🏽", "\u200b", "\u0301"
)

const texts = fc.oneof(
  fc.string({ unit: characters, maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 200 }),
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString("base64")),
  fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString("hex"))
)

describe("TokenCounter", () => {
  it.effect("counts exactly what the reference cl100k encoder counts when no pre-token is longer than the merge limit", () =>
    Effect.gen(function*() {
      const tokens = yield* TokenCounter
      for (const text of ["", "Hello, world!", "I moved to Berlin last year.\n\nNext Friday: 3 flights, 12,345 km.", "def f(x):\n    return x ** 2  # 😀"]) {
        expect(tokens.count(text), text).toBe(referenceCount(text))
      }
      fc.assert(
        fc.property(texts, (text) => {
          fc.pre(longestPreToken(text) <= MAX_MERGE_BYTES)
          expect(tokens.count(text)).toBe(referenceCount(text))
        }),
        { numRuns: 600, seed: 7 }
      )
    }).pipe(Effect.provide(TokenCounter.Default)))

  it.effect("never counts fewer tokens than the reference encoder for longer pre-tokens", () =>
    Effect.gen(function*() {
      const tokens = yield* TokenCounter
      for (const text of ["x".repeat(2_000), "我们明天去东京开会然后回家吃饭".repeat(40), " ".repeat(500) + "a", Buffer.alloc(900, 7).toString("base64")]) {
        expect(longestPreToken(text)).toBeGreaterThan(MAX_MERGE_BYTES)
        expect(tokens.count(text)).toBeGreaterThanOrEqual(referenceCount(text))
      }
    }).pipe(Effect.provide(TokenCounter.Default)))
})
