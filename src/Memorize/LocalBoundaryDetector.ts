/**
 * # Local boundary detector
 *
 * The offline `BoundaryDetector` ("local"), used when no LLM is configured. It is a TextTiling
 * segmenter (Hearst, 1997) adapted to chat, where the unit is a message rather than a sentence:
 *
 * 1. Each message becomes a bag of terms from `Lexicon.terms` (English Porter stems of content
 *    words; CJK runs as character bigrams), weighted `(1 + ln tf) · ln(1 + n / df)` with document
 *    frequencies taken over this conversation, so words that appear everywhere ("thanks", "okay",
 *    the product's name) count for little. Each message vector is L2-normalized so a long pasted
 *    log does not outweigh the short turns around it.
 * 2. At every gap between consecutive messages, the summed vectors of up to `blockSize` messages
 *    on each side (fewer near the ends; messages without terms are skipped over) are compared by
 *    cosine similarity.
 * 3. Each local minimum of that curve gets a depth score, `peakLeft + peakRight − 2·valley`, the
 *    peaks found by climbing while the similarity keeps rising. A gap is a cut when its depth is
 *    above `mean − sd·cutoffSdFactor` of the minima's depths, above `minDepth`, and the valley is
 *    at most `1 − minRelativeDepth` of the average peak. The absolute and relative floors keep a
 *    uniform single-topic chat, whose curve only wobbles, from being cut at all.
 * 4. Cuts are taken deepest first, keeping `minSegmentMessages` between cuts and
 *    `minTrailingMessages` after the last one, so a topic that has just started is not closed on
 *    the strength of one message.
 * 5. Independently, a silence of at least `timeGapMs` is a cut when the similarity across it is at
 *    most `timeGapMaxSimilarity` (a conversation resumed on the same subject stays whole). Time
 *    cuts ignore the size rules: a long silence is evidence on its own.
 *
 * What it does not do: it sees word overlap only. Synonyms and paraphrases ("car" / "vehicle"),
 * pronouns and other coreference ("let's go back to that"), and topic shifts inside one message
 * are invisible to it. Stemming is English only: other Latin-script languages are matched on
 * lowercased, lightly suffix-stripped words; Chinese, Japanese and Korean only through character
 * bigrams, with no dictionary segmentation. Very short conversations (fewer than about
 * `2 · minSegmentMessages + 1` messages with content) are never cut lexically. It is pure,
 * deterministic and never fails.
 */
import { Effect, Layer } from "effect"
import { Lexicon } from "../Text/Lexicon.js"
import { BoundaryDetector, type DetectorMessage, normalizeBoundaries } from "./BoundaryDetector.js"

export interface LocalBoundaryDetectorOptions {
  /** Messages compared on each side of a gap. Default 3: chat turns are short, topics shorter than TextTiling's paragraphs. */
  readonly blockSize?: number
  /** Fewest messages before the first cut and between two cuts. Default 2 (one exchange). */
  readonly minSegmentMessages?: number
  /** Fewest messages after the last lexical cut: a new topic needs this much evidence. Default 3. */
  readonly minTrailingMessages?: number
  /** Depth cutoff is `mean − sd · cutoffSdFactor` of the local minima's depths. Default 0.5 (Hearst's). */
  readonly cutoffSdFactor?: number
  /** Absolute floor on a cut's depth score (similarities are in [0, 1]). Default 0.15. */
  readonly minDepth?: number
  /** How far the valley must fall below its peaks: `depth / (peakLeft + peakRight)`, in [0, 1]. Default 0.5. */
  readonly minRelativeDepth?: number
  /** A silence at least this long (milliseconds) may cut on its own. Default 4 hours. */
  readonly timeGapMs?: number
  /** ...when the similarity across the silence is at most this. Default 0.1. */
  readonly timeGapMaxSimilarity?: number
}

export const defaultLocalBoundaryDetectorOptions: Required<LocalBoundaryDetectorOptions> = {
  blockSize: 3,
  minSegmentMessages: 2,
  minTrailingMessages: 3,
  cutoffSdFactor: 0.5,
  minDepth: 0.15,
  minRelativeDepth: 0.5,
  timeGapMs: 4 * 60 * 60 * 1000,
  timeGapMaxSimilarity: 0.1
}

/** A message as weighted term ids, L2-normalized; empty when it has no terms. */
interface SparseVector {
  readonly ids: Int32Array
  readonly weights: Float64Array
}

const messageVectors = (messageTerms: ReadonlyArray<ReadonlyArray<string>>): {
  readonly vectors: ReadonlyArray<SparseVector>
  readonly vocabularySize: number
} => {
  const n = messageTerms.length
  const termIds = new Map<string, number>()
  const documentFrequency: Array<number> = []
  const counts = messageTerms.map((terms) => {
    const tf = new Map<number, number>()
    for (const term of terms) {
      let id = termIds.get(term)
      if (id === undefined) {
        id = termIds.size
        termIds.set(term, id)
        documentFrequency.push(0)
      }
      const seen = tf.get(id)
      if (seen === undefined) documentFrequency[id]!++
      tf.set(id, (seen ?? 0) + 1)
    }
    return tf
  })
  const vectors = counts.map((tf): SparseVector => {
    const ids = new Int32Array(tf.size)
    const weights = new Float64Array(tf.size)
    let norm = 0
    let k = 0
    for (const [id, count] of tf) {
      const weight = (1 + Math.log(count)) * Math.log(1 + n / documentFrequency[id]!)
      ids[k] = id
      weights[k] = weight
      norm += weight * weight
      k++
    }
    norm = Math.sqrt(norm)
    for (let j = 0; j < weights.length; j++) weights[j]! /= norm
    return { ids, weights }
  })
  return { vectors, vocabularySize: termIds.size }
}

/**
 * Cosine similarity of the blocks on each side of every gap (`sims[i]` is the gap after message
 * i, 0-based), or NaN where one side has no terms at all.
 */
export const gapSimilarities = (
  messageTerms: ReadonlyArray<ReadonlyArray<string>>,
  blockSize: number
): Float64Array => {
  const n = messageTerms.length
  const sims = new Float64Array(Math.max(0, n - 1))
  const { vectors, vocabularySize } = messageVectors(messageTerms)
  // Dense scratch accumulators, reset through the touched ids: O(block terms) per gap.
  const left = new Float64Array(vocabularySize)
  const right = new Float64Array(vocabularySize)
  const touchedLeft: Array<number> = []
  const touchedRight: Array<number> = []
  const add = (into: Float64Array, touched: Array<number>, vector: SparseVector) => {
    for (let j = 0; j < vector.ids.length; j++) {
      const id = vector.ids[j]!
      if (into[id] === 0) touched.push(id)
      into[id]! += vector.weights[j]!
    }
  }
  for (let gap = 0; gap < n - 1; gap++) {
    let taken = 0
    for (let m = gap; m >= 0 && taken < blockSize; m--) {
      if (vectors[m]!.ids.length === 0) continue
      add(left, touchedLeft, vectors[m]!)
      taken++
    }
    taken = 0
    for (let m = gap + 1; m < n && taken < blockSize; m++) {
      if (vectors[m]!.ids.length === 0) continue
      add(right, touchedRight, vectors[m]!)
      taken++
    }
    let dot = 0
    let leftNorm = 0
    let rightNorm = 0
    for (const id of touchedLeft) leftNorm += left[id]! * left[id]!
    for (const id of touchedRight) {
      rightNorm += right[id]! * right[id]!
      dot += left[id]! * right[id]!
    }
    sims[gap] = leftNorm === 0 || rightNorm === 0 ? Number.NaN : dot / Math.sqrt(leftNorm * rightNorm)
    for (const id of touchedLeft) left[id] = 0
    for (const id of touchedRight) right[id] = 0
    touchedLeft.length = 0
    touchedRight.length = 0
  }
  return sims
}

/** NaN gaps (one side without terms, only possible at the ends) take the nearest known value. */
const fillUnknown = (sims: Float64Array): Float64Array | undefined => {
  const first = sims.findIndex((s) => !Number.isNaN(s))
  if (first < 0) return undefined
  const filled = Float64Array.from(sims)
  let last = sims[first]!
  for (let i = 0; i < filled.length; i++) {
    if (Number.isNaN(filled[i]!)) filled[i] = last
    else last = filled[i]!
  }
  return filled
}

interface Valley {
  readonly gap: number
  readonly depth: number
  readonly relativeDepth: number
}

/** TextTiling depth scores at the local minima of the similarity curve. */
const valleys = (sims: Float64Array): ReadonlyArray<Valley> => {
  const found: Array<Valley> = []
  for (let gap = 0; gap < sims.length; gap++) {
    const s = sims[gap]!
    // A local minimum; on a flat bottom only its first gap, so a plateau yields one candidate.
    if (gap > 0 && sims[gap - 1]! <= s) continue
    if (gap + 1 < sims.length && sims[gap + 1]! < s) continue
    let peakLeft = s
    for (let j = gap - 1; j >= 0 && sims[j]! >= peakLeft; j--) peakLeft = sims[j]!
    let peakRight = s
    for (let j = gap + 1; j < sims.length && sims[j]! >= peakRight; j++) peakRight = sims[j]!
    const depth = peakLeft + peakRight - 2 * s
    if (depth <= 0) continue
    found.push({ gap, depth, relativeDepth: depth / (peakLeft + peakRight) })
  }
  return found
}

/**
 * The whole algorithm on already-analyzed messages: 1-based boundaries (`b` = cut after message
 * b), ascending, each `1 <= b < n`. Exposed for tests and benchmarks.
 */
export const localBoundaries = (
  messageTerms: ReadonlyArray<ReadonlyArray<string>>,
  timestamps: ReadonlyArray<number>,
  options: LocalBoundaryDetectorOptions = {}
): ReadonlyArray<number> => {
  const o = { ...defaultLocalBoundaryDetectorOptions, ...options }
  const n = messageTerms.length
  if (n < 2) return []
  const rawSims = gapSimilarities(messageTerms, Math.max(1, o.blockSize))

  const cuts: Array<number> = []
  for (let gap = 0; gap < n - 1; gap++) {
    const silence = timestamps[gap + 1]! - timestamps[gap]!
    const sim = rawSims[gap]!
    // Unknown similarity (no terms on one side) is no evidence of continuity.
    if (silence >= o.timeGapMs && !(sim > o.timeGapMaxSimilarity)) cuts.push(gap + 1)
  }

  const sims = fillUnknown(rawSims)
  if (sims !== undefined) {
    const found = valleys(sims)
    if (found.length > 0) {
      const mean = found.reduce((sum, v) => sum + v.depth, 0) / found.length
      const variance = found.reduce((sum, v) => sum + (v.depth - mean) ** 2, 0) / found.length
      const cutoff = Math.max(o.minDepth, mean - o.cutoffSdFactor * Math.sqrt(variance))
      const deepestFirst = found
        .filter((v) => v.depth >= cutoff && v.relativeDepth >= o.minRelativeDepth)
        .sort((a, b) => b.depth - a.depth || a.gap - b.gap)
      for (const { gap } of deepestFirst) {
        const b = gap + 1
        if (b < o.minSegmentMessages || n - b < o.minTrailingMessages) continue
        if (cuts.some((c) => Math.abs(c - b) < o.minSegmentMessages)) continue
        cuts.push(b)
      }
    }
  }
  return normalizeBoundaries(cuts, n)
}

/** A `BoundaryDetector` that needs no model: lexical cohesion (TextTiling) plus long silences. */
export const makeLocalBoundaryDetector = (options: LocalBoundaryDetectorOptions = {}) =>
  Effect.gen(function*() {
    const lexicon = yield* Lexicon

    const detect = Effect.fn("LocalBoundaryDetector.detect")(function*(messages: ReadonlyArray<DetectorMessage>) {
      const boundaries = messages.length < 2
        ? []
        : localBoundaries(
          messages.map((m) => lexicon.terms(m.text)),
          messages.map((m) => m.timestamp),
          options
        )
      yield* Effect.annotateCurrentSpan({ "engram.messages": messages.length, "engram.boundaries": boundaries.length })
      return boundaries
    })

    return BoundaryDetector.of({ name: "local", detect })
  })

export const LocalBoundaryDetector = {
  /** Default options; needs `Lexicon`. */
  layer: Layer.effect(BoundaryDetector, makeLocalBoundaryDetector()),
  layerWith: (options: LocalBoundaryDetectorOptions) => Layer.effect(BoundaryDetector, makeLocalBoundaryDetector(options))
} as const
