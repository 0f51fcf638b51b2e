/**
 * # Local boundary detector
 *
 * The offline `BoundaryDetector` ("local"), used when no LLM is configured. It is a TextTiling
 * segmenter (Hearst, 1997) adapted to chat, where the unit is a message rather than a sentence:
 *
 * 1. Each message becomes a bag of terms from `Lexicon.terms` (English Porter stems of content
 *    words, CJK runs as character bigrams), weighted `1 + ln tf`. Its vector is normalized to a
 *    length that grows with its content up to `fullMessageTerms` terms, so a pasted log weighs no
 *    more than an ordinary turn and "ok" or "thanks!" weigh almost nothing.
 * 2. At every gap between consecutive messages, the summed vectors of about `blockSize` full
 *    messages on each side (fewer near the ends; messages without terms are skipped over) are
 *    compared by cosine similarity.
 * 3. The similarity curve is smoothed, and each local minimum gets a depth score,
 *    `peakLeft + peakRight − 2·valley`, the peaks found by climbing while the similarity keeps
 *    rising. A valley is a candidate when its depth is at least `mean − sd·cutoffSdFactor` of all
 *    depths and `minDepth`, and it falls at least `minRelativeDepth` of the way from its peaks to
 *    zero. The floors keep a uniform single-topic chat, whose curve only wobbles, in one piece.
 *    The cut goes at the lowest unsmoothed gap next to the valley, and past any acknowledgement
 *    ("ok", "got it", an emoji) that follows it, since those close a topic rather than open one.
 * 4. Candidates are taken deepest first, keeping `minSegmentMessages` between cuts and at least
 *    `minTrailingMessages` full messages after the last one, so a topic that has just started is
 *    not split off on the strength of one message (the caller asks again as messages arrive).
 * 5. Independently, a silence of at least `timeGapMs` is a cut when the similarity across it is at
 *    most `timeGapMaxSimilarity`: a conversation resumed on the same subject stays whole. Time
 *    cuts ignore the size rules, since a long silence is evidence on its own.
 *
 * What it does not do: it sees word overlap only. Synonyms and paraphrases ("car" / "vehicle"),
 * words shared by accident ("book a table" / "a good book"), pronouns and other coreference
 * ("let's get back to that"), and topic shifts inside one message are all invisible to it.
 * Stemming is English only: other Latin-script languages match on lowercased, lightly
 * suffix-stripped words; Chinese, Japanese and Korean only through character bigrams, with no
 * dictionary segmentation. Topics need a few messages of their own to be found: a two-turn aside
 * usually stays with its neighbours. It is pure, deterministic and never fails; a few hundred
 * messages take a few milliseconds once `Lexicon` has seen their text. Only the first
 * `MAX_ANALYZED_CHARS` characters of a message are read.
 */
import { Effect, Layer } from "effect"
import { yieldToEventLoop } from "../Observability/EventLoop.js"
import { Lexicon } from "../Text/Lexicon.js"
import { BoundaryDetector, type DetectorMessage, normalizeBoundaries } from "./BoundaryDetector.js"

export interface LocalBoundaryDetectorOptions {
  /**
   * Messages compared on each side of a gap, counted in full messages (see `fullMessageTerms`).
   * Default 3: enough text to compare, and still shorter than most topics.
   */
  readonly blockSize?: number
  /**
   * A message with at least this many terms counts as one full message; shorter ones ("ok",
   * "thanks!") count as a fraction, both in how much they weigh and in how much of a block they
   * fill. Plays the role of TextTiling's fixed-length pseudo-sentences. Default 6.
   */
  readonly fullMessageTerms?: number
  /** Rounds of 3-point moving-average smoothing of the similarity curve. Default 1 (as Hearst). */
  readonly smoothingRounds?: number
  /** Fewest messages before the first cut and between two cuts. Default 2 (one exchange). */
  readonly minSegmentMessages?: number
  /**
   * Evidence a new topic needs before it is cut off from the previous one: the messages after the
   * last lexical cut must add up to this many full messages (so "ok" and emoji do not count). Default 3.
   */
  readonly minTrailingMessages?: number
  /**
   * Depth cutoff is `mean − sd · cutoffSdFactor` of the valleys' depths. Default 1, more liberal
   * than Hearst's 0.5, which drops the shallowest real shift when every valley is real; the two
   * floors below do the pruning.
   */
  readonly cutoffSdFactor?: number
  /** Absolute floor on a cut's depth score (similarities are in [0, 1]). Default 0.1. */
  readonly minDepth?: number
  /**
   * How far the valley must fall below its peaks, `depth / (peakLeft + peakRight)` in [0, 1].
   * Default 0.5: the valley keeps at most half its peaks' similarity. This, not the absolute
   * floor, is what keeps a single-topic chat whole, since its curve only wobbles.
   */
  readonly minRelativeDepth?: number
  /** A silence at least this long (milliseconds) may cut on its own. Default 4 hours. */
  readonly timeGapMs?: number
  /** ...when the (unsmoothed) similarity across the silence is at most this. Default 0.1. */
  readonly timeGapMaxSimilarity?: number
}

export const defaultLocalBoundaryDetectorOptions: Required<LocalBoundaryDetectorOptions> = {
  blockSize: 3,
  fullMessageTerms: 6,
  smoothingRounds: 1,
  minSegmentMessages: 2,
  minTrailingMessages: 3,
  cutoffSdFactor: 1,
  minDepth: 0.1,
  minRelativeDepth: 0.5,
  timeGapMs: 4 * 60 * 60 * 1000,
  timeGapMaxSimilarity: 0.1
}

/** A block never reaches further than this many blocks' worth of messages, however thin they are. */
const MAX_BLOCK_SPAN_FACTOR = 3
/** Messages with at most this many terms may be acknowledgements ("ok", "thanks!", "got it"). */
const ACKNOWLEDGEMENT_MAX_TERMS = 2
const TIE = 1e-9
/**
 * Characters of a message that are analyzed: its vector is normalized anyway, so a pasted file
 * says no more about the topic than its beginning, and analysis time stays bounded per message.
 */
export const MAX_ANALYZED_CHARS = 16_000
/** Analysis lets other work run (requests, /health) after about this many characters. */
const YIELD_EVERY_CHARS = 32_000

/** A message as term ids with weights; empty when it has no terms. */
interface SparseVector {
  readonly ids: Int32Array
  readonly weights: Float64Array
}

/**
 * A conversation analyzed so far, which grows by appending messages: each message's terms and
 * vector (term ids from one vocabulary, in order of first use), and the block similarity at each
 * gap. Appending recomputes only the gaps whose blocks can reach the new messages (a gap's right
 * block spans at most `MAX_BLOCK_SPAN_FACTOR · blockSize` messages), so extending a conversation by
 * k messages costs O(k · block) rather than a re-analysis of everything before. Every number is
 * computed by the same code, in the same order, as for the whole conversation at once, so the
 * boundaries are identical (test/Memorize/LocalBoundaryDetector.test.ts checks it).
 */
export class Tiling {
  readonly messageTerms: Array<ReadonlyArray<string>> = []
  readonly timestamps: Array<number> = []
  readonly vectors: Array<SparseVector> = []
  /** How much of a full message each one is, in [0, 1]. */
  readonly contentWeights: Array<number> = []
  /** `raw[i]`: similarity at the gap after message i (0-based), NaN where one side has no terms. */
  readonly raw: Array<number> = []
  private readonly termIds = new Map<string, number>()
  /** Similarities at twice the block size, for ties (`sharpen`); computed on demand, valid below `wideValid`. */
  private readonly wideSims: Array<number> = []
  private wideValid = 0
  private left = new Float64Array(64)
  private right = new Float64Array(64)

  constructor(readonly blockSize: number, readonly fullMessageTerms: number) {}

  get length(): number {
    return this.vectors.length
  }

  append(messageTerms: ReadonlyArray<ReadonlyArray<string>>, timestamps: ReadonlyArray<number>): void {
    const before = this.length
    for (const [i, terms] of messageTerms.entries()) {
      this.messageTerms.push(terms)
      this.timestamps.push(timestamps[i]!)
      this.vectors.push(this.vectorOf(terms))
    }
    const n = this.length
    // Gap g's right block reads messages g+1 .. g+span: only gaps within span of the old end change.
    const from = Math.max(0, before - MAX_BLOCK_SPAN_FACTOR * this.blockSize)
    this.raw.length = Math.max(0, n - 1)
    for (let gap = from; gap < n - 1; gap++) this.raw[gap] = this.similarityAt(gap, this.blockSize)
    this.wideValid = Math.min(this.wideValid, Math.max(0, before - MAX_BLOCK_SPAN_FACTOR * 2 * this.blockSize))
  }

  /** Similarities at twice the block size, for every gap. */
  wide(): ReadonlyArray<number> {
    const gaps = Math.max(0, this.length - 1)
    this.wideSims.length = gaps
    for (let gap = this.wideValid; gap < gaps; gap++) this.wideSims[gap] = this.similarityAt(gap, 2 * this.blockSize)
    this.wideValid = gaps
    return this.wideSims
  }

  /**
   * `(1 + ln tf)` per term, scaled to length `contentWeight`. No idf: within one conversation the
   * words every message repeats are the topic itself, and discounting them hid single-topic cohesion.
   */
  private vectorOf(terms: ReadonlyArray<string>): SparseVector {
    const tf = new Map<number, number>()
    for (const term of terms) {
      let id = this.termIds.get(term)
      if (id === undefined) {
        id = this.termIds.size
        this.termIds.set(term, id)
      }
      tf.set(id, (tf.get(id) ?? 0) + 1)
    }
    const contentWeight = Math.min(1, terms.length / Math.max(1, this.fullMessageTerms))
    this.contentWeights.push(contentWeight)
    const ids = new Int32Array(tf.size)
    const weights = new Float64Array(tf.size)
    let norm = 0
    let k = 0
    for (const [id, count] of tf) {
      const weight = 1 + Math.log(count)
      ids[k] = id
      weights[k] = weight
      norm += weight * weight
      k++
    }
    const scale = norm === 0 ? 0 : contentWeight / Math.sqrt(norm)
    for (let j = 0; j < weights.length; j++) weights[j]! *= scale
    return { ids, weights }
  }

  /**
   * Cosine similarity of the blocks on each side of the gap after message `gap`, or NaN where one
   * side has no terms at all. A block takes the nearest messages with terms until it holds
   * `blockSize` full messages. Dense scratch accumulators, reset through the touched ids:
   * O(block terms) per gap.
   */
  private similarityAt(gap: number, blockSize: number): number {
    if (this.left.length < this.termIds.size) {
      this.left = new Float64Array(2 * this.termIds.size)
      this.right = new Float64Array(2 * this.termIds.size)
    }
    const { contentWeights, left, right, vectors } = this
    const n = vectors.length
    const maxSpan = MAX_BLOCK_SPAN_FACTOR * blockSize
    const touchedLeft: Array<number> = []
    const touchedRight: Array<number> = []
    const add = (into: Float64Array, touched: Array<number>, vector: SparseVector) => {
      for (let j = 0; j < vector.ids.length; j++) {
        const id = vector.ids[j]!
        if (into[id] === 0) touched.push(id)
        into[id]! += vector.weights[j]!
      }
    }
    let filled = 0
    for (let m = gap; m >= 0 && filled < blockSize - TIE && gap - m < maxSpan; m--) {
      if (vectors[m]!.ids.length === 0) continue
      add(left, touchedLeft, vectors[m]!)
      filled += contentWeights[m]!
    }
    filled = 0
    for (let m = gap + 1; m < n && filled < blockSize - TIE && m - gap - 1 < maxSpan; m++) {
      if (vectors[m]!.ids.length === 0) continue
      add(right, touchedRight, vectors[m]!)
      filled += contentWeights[m]!
    }
    let dot = 0
    let leftNorm = 0
    let rightNorm = 0
    for (const id of touchedLeft) leftNorm += left[id]! * left[id]!
    for (const id of touchedRight) {
      rightNorm += right[id]! * right[id]!
      dot += left[id]! * right[id]!
    }
    for (const id of touchedLeft) left[id] = 0
    for (const id of touchedRight) right[id] = 0
    return leftNorm === 0 || rightNorm === 0 ? Number.NaN : dot / Math.sqrt(leftNorm * rightNorm)
  }
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

const smooth = (sims: Float64Array, rounds: number): Float64Array => {
  let current = sims
  for (let round = 0; round < rounds; round++) {
    const next = new Float64Array(current.length)
    for (let i = 0; i < current.length; i++) {
      const from = Math.max(0, i - 1)
      const to = Math.min(current.length - 1, i + 1)
      let sum = 0
      for (let j = from; j <= to; j++) sum += current[j]!
      next[i] = sum / (to - from + 1)
    }
    current = next
  }
  return current
}

interface Valley {
  readonly gap: number
  readonly depth: number
  readonly relativeDepth: number
}

/** TextTiling depth scores at the local minima of the (smoothed) similarity curve. */
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
    if (depth > 0) found.push({ gap, depth, relativeDepth: depth / (peakLeft + peakRight) })
  }
  return found
}

/**
 * Smoothing finds the valley but blurs where it is: move to the unsmoothed minimum among the gap
 * and its neighbours; exact ties (typically several zero-overlap gaps) go to the lowest similarity
 * at twice the block size, which sees further past a short aside.
 */
const sharpen = (gap: number, raw: Float64Array, wide: () => Float64Array): number => {
  let best = gap
  for (const candidate of [gap - 1, gap + 1]) {
    if (candidate < 0 || candidate >= raw.length || Number.isNaN(raw[candidate]!)) continue
    const difference = raw[candidate]! - raw[best]!
    if (Number.isNaN(difference) || difference < -TIE) best = candidate
    else if (Math.abs(difference) <= TIE && wide()[candidate]! < wide()[best]! - TIE) best = candidate
  }
  return best
}

/**
 * A short message right after a cut that shares no term with the messages after it ("ok",
 * "thanks!", an emoji) answers what came before; a short one that does ("Postgres question:")
 * opens what follows.
 */
const isAcknowledgement = (messageTerms: ReadonlyArray<ReadonlyArray<string>>, index: number, lookahead: number) => {
  const terms = messageTerms[index]!
  if (terms.length > ACKNOWLEDGEMENT_MAX_TERMS) return false
  const until = Math.min(messageTerms.length, index + 1 + lookahead)
  for (let m = index + 1; m < until; m++) {
    if (terms.some((term) => messageTerms[m]!.includes(term))) return false
  }
  return true
}

/** The analysis the options ask for, of no messages yet. */
export const emptyTiling = (options: LocalBoundaryDetectorOptions = {}): Tiling => {
  const o = { ...defaultLocalBoundaryDetectorOptions, ...options }
  return new Tiling(Math.max(1, o.blockSize), o.fullMessageTerms)
}

/**
 * The whole algorithm on already-analyzed messages (`messageTerms[i]` from `Lexicon.terms`):
 * 1-based boundaries (`b` = cut after message b), ascending, each `1 <= b < n`.
 */
export const localBoundaries = (
  messageTerms: ReadonlyArray<ReadonlyArray<string>>,
  timestamps: ReadonlyArray<number>,
  options: LocalBoundaryDetectorOptions = {}
): ReadonlyArray<number> => {
  const tiling = emptyTiling(options)
  tiling.append(messageTerms, timestamps)
  return tilingBoundaries(tiling, options)
}

/**
 * The boundaries of an analyzed conversation (`Tiling`, built with the same options). Linear in
 * its length over plain numbers; the text work was done when the messages were appended.
 */
export const tilingBoundaries = (tiling: Tiling, options: LocalBoundaryDetectorOptions = {}): ReadonlyArray<number> => {
  const o = { ...defaultLocalBoundaryDetectorOptions, ...options }
  const { messageTerms, timestamps, blockSize } = tiling
  const n = tiling.length
  if (n < 2) return []
  const raw = Float64Array.from(tiling.raw)

  const cuts: Array<number> = []
  for (let gap = 0; gap < n - 1; gap++) {
    const silence = timestamps[gap + 1]! - timestamps[gap]!
    // Unknown similarity (no terms on one side) is no evidence of continuity.
    if (silence >= o.timeGapMs && !(raw[gap]! > o.timeGapMaxSimilarity)) cuts.push(gap + 1)
  }

  const known = fillUnknown(raw)
  if (known === undefined) return normalizeBoundaries(cuts, n)
  const found = valleys(smooth(known, o.smoothingRounds))
  if (found.length === 0) return normalizeBoundaries(cuts, n)

  const mean = found.reduce((sum, v) => sum + v.depth, 0) / found.length
  const variance = found.reduce((sum, v) => sum + (v.depth - mean) ** 2, 0) / found.length
  const cutoff = Math.max(o.minDepth, mean - o.cutoffSdFactor * Math.sqrt(variance))
  let wideSims: Float64Array | undefined
  const wide = () => (wideSims ??= Float64Array.from(tiling.wide()))

  const deepestFirst = found
    .filter((v) => v.depth >= cutoff && v.relativeDepth >= o.minRelativeDepth)
    .sort((a, b) => b.depth - a.depth || a.gap - b.gap)
  // trailingWeight[b]: full messages' worth of content after message b (1-based).
  const trailingWeight = new Float64Array(n + 1)
  for (let i = n - 1; i >= 0; i--) trailingWeight[i] = trailingWeight[i + 1]! + tiling.contentWeights[i]!
  for (const valley of deepestFirst) {
    let b = sharpen(valley.gap, raw, wide) + 1
    while (b < n - 1 && isAcknowledgement(messageTerms, b, blockSize)) b++
    if (b < o.minSegmentMessages || trailingWeight[b]! < o.minTrailingMessages - TIE) continue
    if (cuts.some((c) => Math.abs(c - b) < o.minSegmentMessages)) continue
    cuts.push(b)
  }
  return normalizeBoundaries(cuts, n)
}

/** Conversations whose analysis is kept between calls (least recently used dropped first). */
const KEPT_STREAMS = 1024
/** ...and at most this many characters of their text in all. */
const KEPT_CHARS = 16_000_000

/** A conversation's analysis and the (clipped) texts it was made of. */
interface KeptTiling {
  readonly tiling: Tiling
  readonly texts: ReadonlyArray<string>
  readonly chars: number
}

/** What of a kept analysis a call can reuse: its messages from `offset` on are the call's first `overlap`. */
interface Reuse {
  readonly entry: KeptTiling
  readonly offset: number
  readonly overlap: number
}

/**
 * A `BoundaryDetector` that needs no model: lexical cohesion (TextTiling) plus long silences.
 *
 * A caller that names the conversation (`stream`, a run of a session's buffer) gets it analyzed
 * incrementally: the analysis of the previous call is kept in memory (bounded, least recently
 * used first out). When the messages continue the kept ones (same texts and times, compared in
 * full), only the new messages are analyzed; when a commit took the beginning away, the terms of
 * the rest are reused and only the numbers are rebuilt; anything else (another process changed
 * the buffer) is analyzed afresh. The answers are those of a full re-analysis.
 */
export const makeLocalBoundaryDetector = (options: LocalBoundaryDetectorOptions = {}) =>
  Effect.gen(function*() {
    const lexicon = yield* Lexicon
    const kept = new Map<string, KeptTiling>()
    let keptChars = 0

    const reuse = (stream: string | undefined, texts: ReadonlyArray<string>, timestamps: ReadonlyArray<number>): Reuse | undefined => {
      const entry = stream === undefined ? undefined : kept.get(stream)
      if (entry === undefined || texts.length === 0) return undefined
      const same = (k: number, i: number) => entry.tiling.timestamps[k] === timestamps[i] && entry.texts[k] === texts[i]
      // Where the messages begin in the kept conversation: a memcell may have taken its start.
      let offset = 0
      while (offset < entry.tiling.length && !same(offset, 0)) offset++
      if (offset === entry.tiling.length) return undefined
      const overlap = Math.min(entry.tiling.length - offset, texts.length)
      for (let i = 1; i < overlap; i++) if (!same(offset + i, i)) return undefined
      return { entry, offset, overlap }
    }

    const keep = (stream: string, entry: KeptTiling) => {
      const previous = kept.get(stream)
      if (previous !== undefined) keptChars -= previous.chars
      kept.delete(stream)
      kept.set(stream, entry)
      keptChars += entry.chars
      for (const [oldest, old] of kept) {
        if (kept.size <= KEPT_STREAMS && keptChars <= KEPT_CHARS) break
        keptChars -= old.chars
        kept.delete(oldest)
      }
    }

    const detect = Effect.fn("LocalBoundaryDetector.detect")(function*(messages: ReadonlyArray<DetectorMessage>, stream?: string) {
      const texts = messages.map((m) => clipped(m.text))
      const timestamps = messages.map((m) => m.timestamp)
      const planned = reuse(stream, texts, timestamps)
      const known = planned?.overlap ?? 0
      const fresh: Array<ReadonlyArray<string>> = []
      let sinceYield = 0
      for (let i = known; i < texts.length; i++) {
        fresh.push(lexicon.terms(texts[i]!))
        sinceYield += texts[i]!.length
        if (sinceYield >= YIELD_EVERY_CHARS) {
          sinceYield = 0
          yield* yieldToEventLoop
        }
      }
      // From here on nothing yields: another call on the same stream cannot interleave. It may
      // have run during the yields above, so the plan is checked again.
      const now = reuse(stream, texts, timestamps)
      const unchanged = planned !== undefined && now !== undefined && now.entry === planned.entry &&
        now.offset === planned.offset && now.overlap === planned.overlap
      let tiling: Tiling
      if (unchanged && planned.offset === 0 && planned.overlap === planned.entry.tiling.length) {
        tiling = planned.entry.tiling
      } else {
        tiling = emptyTiling(options)
        if (unchanged) {
          const { entry, offset, overlap } = planned
          tiling.append(entry.tiling.messageTerms.slice(offset, offset + overlap), entry.tiling.timestamps.slice(offset, offset + overlap))
        } else if (known > 0) {
          tiling.append(texts.slice(0, known).map((text) => lexicon.terms(text)), timestamps.slice(0, known))
        }
      }
      tiling.append(fresh, timestamps.slice(known))
      const boundaries = tilingBoundaries(tiling, options)
      if (stream !== undefined) keep(stream, { tiling, texts, chars: texts.reduce((sum, text) => sum + text.length, 0) })
      yield* Effect.annotateCurrentSpan({
        "engram.messages": messages.length,
        "engram.analyzed": fresh.length,
        "engram.boundaries": boundaries.length
      })
      return boundaries
    })

    return BoundaryDetector.of({ name: "local", asksModel: false, detect })
  })

const clipped = (text: string) => text.length > MAX_ANALYZED_CHARS ? text.slice(0, MAX_ANALYZED_CHARS) : text

export const LocalBoundaryDetector = {
  /** Default options; needs `Lexicon`. */
  layer: Layer.effect(BoundaryDetector, makeLocalBoundaryDetector()),
  layerWith: (options: LocalBoundaryDetectorOptions) => Layer.effect(BoundaryDetector, makeLocalBoundaryDetector(options))
} as const
