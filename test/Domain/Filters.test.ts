import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { Filters, pinnedSession, toFilterTree } from "../../src/Domain/Filters.js"
import { firstIssue } from "../../src/Domain/Validation.js"

const decode = Schema.decodeUnknownEither(Filters)

describe("Filters", () => {
  it("accepts values, operators, ISO timestamps and nested AND/OR", () => {
    const parsed = decode({
      session_id: "s1",
      timestamp: { gte: "2024-05-01T00:00:00Z", lt: 1_720_000_000_000 },
      OR: [{ sender_id: "alice" }, { sender_id: { in: ["bob", "carol"] } }]
    })
    expect(Either.isRight(parsed)).toBe(true)
    const filters = Either.getOrThrow(parsed)
    expect(filters.timestamp).toEqual({ gte: Date.parse("2024-05-01T00:00:00Z"), lt: 1_720_000_000_000 })
    expect(pinnedSession(filters)).toBe("s1")
    const tree = toFilterTree(filters)
    expect(tree._tag).toBe("And")
  })

  it("rejects unknown keys, unknown operators and bad timestamps, naming the place", () => {
    const cases: Array<[unknown, string]> = [
      [{ sesion_id: "typo" }, "sesion_id"],
      [{ timestamp: { after: 5 } }, "timestamp"],
      [{ timestamp: "yesterday" }, "timestamp"],
      [{ AND: [{ sender_id: { in: [] } }] }, "AND.0.sender_id"]
    ]
    for (const [input, path] of cases) {
      const result = decode(input)
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) expect(firstIssue(result.left).path.startsWith(path)).toBe(true)
    }
  })
})
