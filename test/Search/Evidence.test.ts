import { describe, expect, it } from "@effect/vitest"
import { collectEvidence, type EvidenceLine, evidenceSpans, type LineSource, windowPositions } from "../../src/Search/Evidence.js"

const texts = [
  "[2024-05-06] Alice: Good morning!",
  "[2024-05-06] Bob: Did you adopt the dog?",
  "[2024-05-06] Alice: Yes, a greyhound called Biscuit.",
  "[2024-05-06] Bob: Lovely.",
  "[2024-05-06] Alice: I also ran a marathon.",
  "[2024-05-06] Bob: Which marathon?",
  "[2024-05-06] Alice: Boston."
]
const lines: ReadonlyArray<EvidenceLine> = texts.map((line, position) => ({ episode_id: "e", position, message_id: `m${position}`, line }))
const source = (words: ReadonlyArray<string>): LineSource => ({
  lineAt: (episodeId, position) => (episodeId === "e" ? lines[position] : undefined),
  matches: (line) => words.some((w) => line.line.replace(/^\[[^\]]*\] [^:]*: /, "").toLowerCase().includes(w))
})
const window = (position: number, score = 1) => ({ episode_id: "e", position, score })

describe("windowPositions", () => {
  it("shows the whole window, only matching lines, or matching lines with the question they answer", () => {
    const biscuit = source(["greyhound"])
    expect(windowPositions(window(2), 1, "all", biscuit)).toEqual([1, 2, 3])
    expect(windowPositions(window(2), 1, "matching", biscuit)).toEqual([2])
    expect(windowPositions(window(2), 1, "question-answer", biscuit)).toEqual([1, 2])
    // A matching question brings its reply.
    expect(windowPositions(window(5), 1, "question-answer", source(["which"]))).toEqual([5, 6])
    // No line matches (the window came through its episode): the centre alone.
    expect(windowPositions(window(3), 1, "matching", source(["nothing"]))).toEqual([3])
    // Windows are cut at the ends of the episode.
    expect(windowPositions(window(0), 1, "all", biscuit)).toEqual([0, 1])
  })
})

describe("collectEvidence and evidenceSpans", () => {
  const all = source([])
  const positions = (w: { readonly position: number }) => [w.position - 1, w.position, w.position + 1].filter((p) => p >= 0 && p < 7)

  it("never shows a line twice and merges a group touching the span before it, keeping rank order", () => {
    const groups = collectEvidence([window(5, 3), window(2, 2), window(3, 1)], positions, all)
    expect(groups.map((g) => g.lines.map((l) => l.position))).toEqual([[4, 5, 6], [1, 2, 3]])
    const spans = evidenceSpans(groups)
    // 1..3 touch 4..6: one span, in conversation order, scored by its best window.
    expect(spans).toHaveLength(1)
    expect(spans[0]!.lines.map((l) => l.position)).toEqual([1, 2, 3, 4, 5, 6])
    expect(spans[0]!.score).toBe(3)
    // A group touching an earlier span but not the last one starts its own span: best evidence stays first.
    const apart = evidenceSpans(collectEvidence([window(5, 3), window(1, 2), window(4, 1)], (w) => [w.position], all))
    expect(apart.map((s) => [s.score, s.lines.map((l) => l.position)])).toEqual([[3, [5]], [2, [1]], [1, [4]]])
  })

  it("keeps within a token budget, skipping a group that does not fit for smaller ones further down", () => {
    // One token per word, plus one per line break.
    const count = (text: string) => text.split(/\s+/).length
    const groups = collectEvidence([window(1, 3), window(5, 2), window(6, 1)], (w) => (w.position === 1 ? [0, 1, 2] : [w.position]), all, {
      maxTokens: 12,
      count
    })
    // Window 1 costs 4 + 8 + 8 + 3 = 23 tokens; window 5 costs 4 + 1, window 6 costs 3 + 1.
    expect(groups.map((g) => g.lines.map((l) => l.position))).toEqual([[5], [6]])
  })
})
