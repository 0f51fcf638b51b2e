/**
 * Reciprocal-rank fusion (Cormack et al. 2009): an item's score is the sum over ranked lists of
 * 1 / (k + rank), rank starting at 1. Ranks, not raw scores, are fused, so bm25 values of different
 * indexes and cosine similarities combine without calibration.
 */

export const RRF_K = 60

/** Sum of reciprocal ranks per id over `lists` (each best first; repeats after the first ignored). */
export const reciprocalRanks = (lists: ReadonlyArray<ReadonlyArray<string>>, k: number = RRF_K): Map<string, number> => {
  const scores = new Map<string, number>()
  for (const list of lists) {
    const seen = new Set<string>()
    let rank = 0
    for (const id of list) {
      if (seen.has(id)) continue
      seen.add(id)
      rank++
      scores.set(id, (scores.get(id) ?? 0) + 1 / (k + rank))
    }
  }
  return scores
}

/**
 * Fused scores scaled to (0, 1]: 1 means first in every one of `listCount` lists. `listCount` is
 * the number of lists the method runs (not how many happened to return something), so a score
 * means the same across queries of one method.
 */
export const normalizedFusion = (lists: ReadonlyArray<ReadonlyArray<string>>, listCount: number, k: number = RRF_K): Map<string, number> => {
  const best = listCount / (k + 1)
  const scores = reciprocalRanks(lists, k)
  for (const [id, score] of scores) scores.set(id, score / best)
  return scores
}

/** `lists` fused into one ranking, best first (ties keep first-list order). */
export const fusedOrder = (lists: ReadonlyArray<ReadonlyArray<string>>, k: number = RRF_K): ReadonlyArray<string> => {
  const scores = reciprocalRanks(lists, k)
  const firstSeen = new Map<string, number>()
  for (const list of lists) for (const id of list) if (!firstSeen.has(id)) firstSeen.set(id, firstSeen.size)
  return [...scores.keys()].sort((a, b) => scores.get(b)! - scores.get(a)! || firstSeen.get(a)! - firstSeen.get(b)!)
}

/** The lowest and highest of some values (empty: low +Infinity, high -Infinity). */
export interface ValueRange {
  readonly low: number
  readonly high: number
}

/** The range of `values`, widened to hold `within` too when given. */
export const valueRange = (values: ReadonlyArray<number>, within?: ValueRange): ValueRange => {
  let low = within?.low ?? Number.POSITIVE_INFINITY
  let high = within?.high ?? Number.NEGATIVE_INFINITY
  for (const value of values) {
    low = Math.min(low, value)
    high = Math.max(high, value)
  }
  return { low, high }
}

/**
 * `values` rescaled linearly to [0, 1] over their range, or over it widened to hold `within` (so
 * they land on another list's scale); all 0 when the range is a single value.
 */
export const rescaleToUnit = (values: ReadonlyArray<number>, within?: ValueRange): Array<number> => {
  const { high, low } = valueRange(values, within)
  return values.map((value) => (high > low ? (value - low) / (high - low) : 0))
}

/** A ranked list (best first) and how much its ranks count. */
export interface WeightedList {
  readonly ids: ReadonlyArray<string>
  readonly weight: number
}

/**
 * Weighted reciprocal-rank fusion: each list adds `weight / (k + rank)`. Scores are scaled to
 * (0, 1] by `totalWeight` (the summed weight of every list the method runs, whether or not it
 * returned anything), so 1 still means first in every list. Order: best first, ties keep
 * first-seen order.
 */
export const weightedFusion = (lists: ReadonlyArray<WeightedList>, totalWeight: number, k: number = RRF_K) => {
  const scores = new Map<string, number>()
  const firstSeen = new Map<string, number>()
  for (const list of lists) {
    const seen = new Set<string>()
    for (const id of list.ids) {
      if (seen.has(id)) continue
      seen.add(id)
      if (!firstSeen.has(id)) firstSeen.set(id, firstSeen.size)
      scores.set(id, (scores.get(id) ?? 0) + list.weight / (k + seen.size))
    }
  }
  const best = totalWeight / (k + 1)
  for (const [id, score] of scores) scores.set(id, score / best)
  const order = [...scores.keys()].sort((a, b) => scores.get(b)! - scores.get(a)! || firstSeen.get(a)! - firstSeen.get(b)!)
  return { scores: scores as ReadonlyMap<string, number>, order: order as ReadonlyArray<string> }
}
