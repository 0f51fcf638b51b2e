/**
 * # Evidence: the turns themselves, not descriptions of them
 *
 * Search ranks message windows (passages: a consumed message with its neighbours in the memcell).
 * What it shows of them is built here, purely:
 *
 * - `windowPositions`: which lines of one ranked window earn their words: those sharing a query
 *   term, plus a question right before a matching line (what it answers) and the reply right after
 *   a matching question (`NeighbourRule`); the centre when no line matches (the window matched
 *   through its episode).
 * - `collectEvidence`: ranked windows to ranked groups of new lines (a line already shown by a
 *   better window is never shown again), optionally within a token budget.
 * - `evidenceSpans`: those groups in rank order, a group touching the span before it merged into
 *   it (conversation order inside a span).
 */

/** One stored line of an episode: `[2024-05-06] Alice: text`. */
export interface EvidenceLine {
  readonly episode_id: string
  readonly position: number
  readonly message_id: string
  readonly line: string
}

/** A ranked window: its episode, centre position and score (higher is better). */
export interface RankedWindow {
  readonly episode_id: string
  readonly position: number
  readonly score: number
}

/**
 * Which neighbours of a window's lines are shown: `all` (the whole window), `matching` (lines
 * sharing a query term), `question-answer` (matching lines plus a question before one and the reply
 * after a matching question).
 */
export type NeighbourRule = "all" | "matching" | "question-answer"

export interface LineSource {
  /**
   * The line at `position` of `episode`, if stored; just outside the episode (position -1, or the
   * one after its last), the session's adjacent message when known, which a memcell boundary put
   * in another episode.
   */
  readonly lineAt: (episodeId: string, position: number) => EvidenceLine | undefined
  /** Whether a line's text (without its date and speaker) shares a query term. */
  readonly matches: (line: EvidenceLine) => boolean
}

const isQuestion = (line: EvidenceLine) => /\?\s*(\[[^\]]*\])?\s*$/.test(line.line)

/** Positions of `window` (radius `radius`) to show, in conversation order. */
export const windowPositions = (window: RankedWindow, radius: number, rule: NeighbourRule, source: LineSource): ReadonlyArray<number> => {
  const present: Array<EvidenceLine> = []
  for (let p = window.position - radius; p <= window.position + radius; p++) {
    // Position -1 and the one after the last may be the neighbouring memcells' lines (see `LineSource`).
    const line = source.lineAt(window.episode_id, p)
    if (line !== undefined) present.push(line)
  }
  if (rule === "all") return present.map((l) => l.position)
  const shown = new Set(present.filter(source.matches).map((l) => l.position))
  if (shown.size === 0) return present.some((l) => l.position === window.position) ? [window.position] : []
  if (rule === "question-answer") {
    for (const line of present) {
      if (!shown.has(line.position)) continue
      const before = source.lineAt(window.episode_id, line.position - 1)
      if (before !== undefined && isQuestion(before)) shown.add(before.position)
      const after = source.lineAt(window.episode_id, line.position + 1)
      if (after !== undefined && isQuestion(line)) shown.add(after.position)
    }
  }
  return [...shown].sort((a, b) => a - b)
}

/** Lines chosen for one window: only those not shown by a better one. */
export interface EvidenceGroup {
  readonly window: RankedWindow
  readonly lines: ReadonlyArray<EvidenceLine>
}

export interface EvidenceBudget {
  readonly maxTokens: number
  readonly count: (text: string) => number
}

/** With a budget, reading stops after this many groups in a row did not fit (the budget is as good as full). */
export const MISSES_BEFORE_FULL = 8

/**
 * Ranked windows (best first) to groups of new lines, skipping lines already shown (by message:
 * one message is one line whichever episode holds it). With a budget, a group that does not fit
 * is left out and smaller ones further down may still fit, until `MISSES_BEFORE_FULL` in a row
 * did not; each line is counted once (counting is the costly part).
 */
export const collectEvidence = (
  windows: ReadonlyArray<RankedWindow>,
  positionsOf: (window: RankedWindow) => ReadonlyArray<number>,
  source: LineSource,
  budget?: EvidenceBudget
): ReadonlyArray<EvidenceGroup> => {
  const shown = new Set<string>()
  const groups: Array<EvidenceGroup> = []
  const costs = new Map<string, number>()
  const costOf = (line: EvidenceLine, count: (text: string) => number) => {
    let cost = costs.get(line.message_id)
    if (cost === undefined) costs.set(line.message_id, cost = count(line.line) + 1)
    return cost
  }
  let tokens = 0
  let misses = 0
  for (const window of windows) {
    const lines = positionsOf(window)
      .map((p) => source.lineAt(window.episode_id, p))
      .filter((line): line is EvidenceLine => line !== undefined && !shown.has(line.message_id))
    if (lines.length === 0) continue
    if (budget !== undefined) {
      const cost = lines.reduce((sum, line) => sum + costOf(line, budget.count), 0)
      if (tokens + cost > budget.maxTokens) {
        if (++misses >= MISSES_BEFORE_FULL) break
        continue
      }
      misses = 0
      tokens += cost
    }
    for (const line of lines) shown.add(line.message_id)
    groups.push({ window, lines })
  }
  return groups
}

/** Adjacent lines of one episode, in conversation order, with the score of their best window. */
export interface EvidenceSpan {
  readonly episode_id: string
  readonly score: number
  readonly lines: ReadonlyArray<EvidenceLine>
}

/**
 * Groups as spans in rank order (best first, so any prefix of the context is the best evidence
 * for its length): a group adjacent to the span just before it (same episode, touching positions)
 * joins it, in conversation order; any other group starts a span.
 */
export const evidenceSpans = (groups: ReadonlyArray<EvidenceGroup>): ReadonlyArray<EvidenceSpan> => {
  const spans: Array<{ episode_id: string; score: number; lines: Array<EvidenceLine> }> = []
  for (const group of groups) {
    const positions = group.lines.map((l) => l.position)
    const last = spans[spans.length - 1]
    const touches = last !== undefined && last.episode_id === group.window.episode_id &&
      last.lines.some((l) => positions.some((p) => Math.abs(p - l.position) <= 1))
    if (touches) {
      last.lines.push(...group.lines)
      last.lines.sort((a, b) => a.position - b.position)
    } else {
      spans.push({ episode_id: group.window.episode_id, score: group.window.score, lines: [...group.lines] })
    }
  }
  return spans
}
