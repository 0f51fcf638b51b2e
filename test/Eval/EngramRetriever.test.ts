import { describe, expect, it } from "@effect/vitest"
import { type EvalSearchAnswer, mergeAnswers, mergeContexts } from "../../src/Eval/EngramRetriever.js"
import { scopeIdOf, senderIdOf } from "../../src/Eval/EngramIngest.js"

type Episode = EvalSearchAnswer["episodes"][number]

const episode = (score: number, memcell: string, user: string, facts: ReadonlyArray<string> = []): Episode => ({
  score,
  subject: `${user} subject`,
  summary: `${user} summary of ${memcell}`,
  episode: `transcript of ${memcell}`,
  message_ids: [`${memcell}:1`, `${memcell}:2`],
  atomic_facts: facts.map((content) => ({ content, message_ids: [`${memcell}:1`] }))
})

const answer = (episodes: ReadonlyArray<Episode>, unprocessed: ReadonlyArray<string> = []): EvalSearchAnswer => ({
  episodes,
  unprocessed_messages: unprocessed.map((id) => ({ message_id: id, content: `text of ${id}` }))
})

describe("mergeAnswers", () => {
  it("orders both speakers' episodes by score and reads each as episode text then its facts", () => {
    const merged = mergeAnswers([answer([episode(3, "m1", "alice", ["alice fact"])]), answer([episode(5, "m2", "bob")])], 10)
    expect(merged.map((r) => r.parts.map((p) => p.text))).toEqual([
      ["bob subject\nbob summary of m2\ntranscript of m2"],
      ["alice subject\nalice summary of m1\ntranscript of m1", "alice fact"]
    ])
    expect(merged[1]!.parts[1]!.message_ids).toEqual(["m1:1"])
  })

  it("shows a memcell's transcript once when both speakers' episodes of it are returned", () => {
    const merged = mergeAnswers([answer([episode(4, "m1", "alice")]), answer([episode(2, "m1", "bob", ["bob fact"])])], 10)
    expect(merged.map((r) => r.parts.map((p) => p.text))).toEqual([
      ["alice subject\nalice summary of m1\ntranscript of m1"],
      ["bob subject\nbob summary of m1", "bob fact"]
    ])
  })

  it("adds unprocessed messages not shown yet, and stops at depth", () => {
    const merged = mergeAnswers([answer([episode(1, "m1", "alice")], ["m1:1", "x"]), answer([], ["x"])], 10)
    expect(merged.map((r) => r.parts.map((p) => p.message_ids))).toEqual([[["m1:1", "m1:2"]], [["x"]]])
    expect(mergeAnswers([answer([episode(3, "a", "u"), episode(2, "b", "u"), episode(1, "c", "u")])], 2)).toHaveLength(2)
  })
})

describe("ids made from LoCoMo labels", () => {
  it("are valid scope and sender ids", () => {
    expect(scopeIdOf("conv-26")).toBe("conv-26")
    expect(scopeIdOf("Conv 7/B")).toBe("conv-7-b")
    expect(scopeIdOf("..")).toBe("-")
    expect(senderIdOf("Caroline")).toBe("Caroline")
    expect(senderIdOf("Mary Ann O'Neil")).toBe("Mary_Ann_O_Neil")
    expect(senderIdOf("  ")).toBe("speaker")
  })
})

describe("mergeContexts", () => {
  const line = (text: string, score: number, kind: "message" | "fact" = "message") => ({ kind, text, message_ids: [text], score })
  it("reads both speakers' context lines by score, each line once, facts as facts", () => {
    const merged = mergeContexts([
      { episodes: [], unprocessed_messages: [], context_lines: [line("a", 0.9), line("b", 0.5), line("f", 0.4, "fact")] },
      { episodes: [], unprocessed_messages: [], context_lines: [line("a", 0.9), line("c", 0.7)] },
      { episodes: [], unprocessed_messages: [] }
    ])
    expect(merged.map((r) => r.parts.map((p) => [p.text, p.kind]))).toEqual([[["a", "text"]], [["c", "text"]], [["b", "text"]], [["f", "fact"]]])
  })
  it("leaves out a line whose messages are all shown already, as each context is packed", () => {
    const withIds = (text: string, score: number, kind: "message" | "fact", message_ids: ReadonlyArray<string>) => ({ kind, text, message_ids, score })
    const merged = mergeContexts([
      { episodes: [], unprocessed_messages: [], context_lines: [withIds("[d] A: I adopted a cat.", 0.9, "message", ["m1"]), withIds("A met B.", 0.3, "fact", ["m2", "m3"])] },
      {
        episodes: [],
        unprocessed_messages: [],
        context_lines: [
          // The other speaker's fact about the quoted turn, and that speaker's line of a message a fact above stated.
          withIds("A adopted a cat.", 0.8, "fact", ["m1"]),
          withIds("B helped A.", 0.7, "fact", ["m2"]),
          withIds("[d] B: Glad I could help!", 0.6, "message", ["m2"]),
          withIds("[d] B: See you.", 0.5, "message", ["m4"])
        ]
      }
    ])
    expect(merged.map((r) => r.parts[0]!.text)).toEqual(["[d] A: I adopted a cat.", "B helped A.", "[d] B: See you.", "A met B."])
  })
})
