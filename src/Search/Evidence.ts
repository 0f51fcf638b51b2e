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
 * - `evidenceSpans`: those lines merged into spans of adjacent lines of one episode (conversation
 *   order inside a span), spans ordered by their best window, best first.
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
  /** The line at `position` of `episode`, if stored. */
  readonly lineAt: (episodeId: string, position: number) => EvidenceLine | undefined
  /** Whether a line's text (without its date and speaker) shares a query term. */
  readonly matches: (line: EvidenceLine) => boolean
}

const isQuestion = (line: EvidenceLine) => /\?\s*(\[[^\]]*\])?\s*$/.test(line.line)

/** Positions of `window` (radius `radius`) to show, in conversation order. */
export const windowPositions = (window: RankedWindow, radius: number, rule: NeighbourRule, source: LineSource): ReadonlyArray<number> => {
  const present: Array<EvidenceLine> = []
  for (let p = window.position - radius; p <= window.position + radius; p++) {
    const line = p >= 0 ? source.lineAt(window.episode_id, p) : undefined
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

/**
 * Ranked windows (best first) to groups of new lines, skipping lines already shown (by message:
 * one message is one line whichever episode holds it). With a budget, a group that does not fit
 * is left out and smaller ones further down may still fit.
 */
export const collectEvidence = (
  windows: ReadonlyArray<RankedWindow>,
  positionsOf: (window: RankedWindow) => ReadonlyArray<number>,
  source: LineSource,
  budget?: EvidenceBudget
): ReadonlyArray<EvidenceGroup> => {
  const shown = new Set<string>()
  const groups: Array<EvidenceGroup> = []
  let tokens = 0
  for (const window of windows) {
    const lines = positionsOf(window)
      .map((p) => source.lineAt(window.episode_id, p))
      .filter((line): line is EvidenceLine => line !== undefined && !shown.has(line.message_id))
    if (lines.length === 0) continue
    if (budget !== undefined) {
      const cost = lines.reduce((sum, line) => sum + budget.count(line.line) + 1, 0)
      if (tokens + cost > budget.maxTokens) continue
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

/** Groups merged into spans of adjacent lines per episode; spans best first, lines in order. */
export const evidenceSpans = (groups: ReadonlyArray<EvidenceGroup>): ReadonlyArray<EvidenceSpan> => {
  // Union of adjacent positions per episode; a span's rank is that of its first (best) group.
  const byEpisode = new Map<string, Map<number, { line: EvidenceLine; rank: number; score: number }>>()
  groups.forEach((group, rank) => {
    const lines = byEpisode.get(group.window.episode_id) ?? new Map()
    for (const line of group.lines) {
      if (!lines.has(line.position)) lines.set(line.position, { line, rank, score: group.window.score })
    }
    byEpisode.set(group.window.episode_id, lines)
  })
  const spans: Array<EvidenceSpan & { rank: number }> = []
  for (const [episode_id, lines] of byEpisode) {
    const positions = [...lines.keys()].sort((a, b) => a - b)
    let current: Array<{ line: EvidenceLine; rank: number; score: number }> = []
    const close = () => {
      if (current.length === 0) return
      const best = current.reduce((x, y) => (y.rank < x.rank ? y : x))
      spans.push({ episode_id, score: best.score, rank: best.rank, lines: current.map((c) => c.line) })
      current = []
    }
    for (const p of positions) {
      if (current.length > 0 && current[current.length - 1]!.line.position !== p - 1) close()
      current.push(lines.get(p)!)
    }
    close()
  }
  return spans.sort((a, b) => a.rank - b.rank).map(({ episode_id, lines, score }) => ({ episode_id, score, lines }))
}
