import { Effect } from "effect"
import cl100kBase from "js-tiktoken/ranks/cl100k_base"
import { yieldToEventLoop } from "../Observability/EventLoop.js"

/**
 * Longest pre-token counted exactly. cl100k splits text into pre-tokens (a word with its leading
 * space, up to 3 digits, a punctuation run, a whitespace run) and merges bytes inside each;
 * merging is quadratic in the pre-token's length and costs microseconds per byte. A longer
 * pre-token (a 2 MB word, a long run of CJK characters without punctuation, 200 spaces) is
 * counted as its UTF-8 byte length instead: an upper bound (no cl100k token is shorter than a
 * byte), so a cap closes a cell early rather than late. Ordinary text has no pre-token this long,
 * so its count is exact (see `docs/benchmarks.md`).
 */
export const MAX_MERGE_BYTES = 128

/** Distinct pre-tokens remembered with their counts (a conversation's vocabulary is small). */
const PIECE_MEMO_LIMIT = 100_000
/** Pre-tokens longer than this are not remembered (they rarely repeat and would fill the memo). */
const PIECE_MEMO_MAX_LENGTH = 64
/** `countYielding` lets other work run after about this many characters. */
const YIELD_EVERY_CHARS = 16 * 1024
/** Shorter texts (nearly every chat message) are counted without yielding. */
const YIELD_FROM_CHARS = 8 * 1024

const utf8 = new TextEncoder()

/** `text` as a string of code units 0-255, one per UTF-8 byte: a cheap Map key, sliceable by byte. */
const byteString = (text: string): string => {
  if (/^[\x00-\x7f]*$/.test(text)) return text
  const bytes = utf8.encode(text)
  let out = ""
  for (let i = 0; i < bytes.length; i++) out += String.fromCharCode(bytes[i]!)
  return out
}

/** cl100k's ranks keyed by each token's bytes as a `byteString`. */
const loadRanks = (): Map<string, number> => {
  const ranks = new Map<string, number>()
  for (const line of cl100kBase.bpe_ranks.split("\n")) {
    if (line.length === 0) continue
    const [, offsetText, ...tokens] = line.split(" ")
    const offset = Number.parseInt(offsetText!, 10)
    tokens.forEach((token, i) => {
      ranks.set(Buffer.from(token, "base64").toString("latin1"), offset + i)
    })
  }
  return ranks
}

const twoByteRanks = (ranks: Map<string, number>): Float64Array => {
  const table = new Float64Array(256 * 256).fill(Infinity)
  for (const [token, rank] of ranks) {
    if (token.length === 2) table[token.charCodeAt(0) * 256 + token.charCodeAt(1)] = rank
  }
  return table
}

/**
 * Working arrays of `mergeCount`, sized for the longest pre-token it merges and reused for every
 * piece: a random string (base64, hashes) has a fresh pre-token every few bytes, and allocating
 * three typed arrays per pre-token cost more than the merging itself.
 */
interface MergeScratch {
  /** Rank of every two-byte token by `first * 256 + second` (Infinity: not a token): the first pass's lookups. */
  readonly pairRanks: Float64Array
  readonly next: Int32Array
  readonly previous: Int32Array
  readonly pairRank: Float64Array
}

const makeMergeScratch = (ranks: Map<string, number>): MergeScratch => ({
  pairRanks: twoByteRanks(ranks),
  next: new Int32Array(MAX_MERGE_BYTES + 2),
  previous: new Int32Array(MAX_MERGE_BYTES + 2),
  pairRank: new Float64Array(MAX_MERGE_BYTES + 2)
})

/**
 * Tokens of `bytes` (a `byteString` of at most MAX_MERGE_BYTES) under byte-pair merging:
 * repeatedly merge the adjacent pair whose merged bytes have the lowest rank. O(n²) in the
 * length, which `MAX_MERGE_BYTES` bounds.
 */
const mergeCount = (ranks: Map<string, number>, bytes: string, scratch: MergeScratch): number => {
  const n = bytes.length
  if (n <= 1) return n
  // Parts as a linked list over byte offsets: part i spans [i, next[i]).
  // pairRank[i] is the rank of part i merged with the part after it (Infinity: no such token).
  const { next, pairRank, previous } = scratch
  for (let i = 0; i <= n; i++) {
    next[i] = i + 1
    previous[i] = i - 1
  }
  const rankAt = (i: number): number => {
    const after = next[i]!
    return after >= n ? Infinity : ranks.get(bytes.slice(i, next[after]!)) ?? Infinity
  }
  for (let i = 0; i < n - 1; i++) pairRank[i] = scratch.pairRanks[bytes.charCodeAt(i) * 256 + bytes.charCodeAt(i + 1)]!
  pairRank[n - 1] = Infinity
  let parts = n
  while (parts > 1) {
    let best = Infinity
    let at = -1
    for (let i = 0; i < n; i = next[i]!) {
      if (pairRank[i]! < best) {
        best = pairRank[i]!
        at = i
      }
    }
    if (at < 0) break
    const removed = next[at]!
    next[at] = next[removed]!
    previous[next[removed]!] = at
    parts--
    pairRank[at] = rankAt(at)
    if (previous[at]! >= 0) pairRank[previous[at]!] = rankAt(previous[at]!)
  }
  return parts
}

/**
 * Counts tokens the way OpenAI-family models do (cl100k_base), so the 65,536-token cap of a
 * memcell means what it says. The cost is linear in the text's length whatever its shape: the
 * exact count for every pre-token up to `MAX_MERGE_BYTES` bytes, an upper bound for longer ones.
 * Loading the ranks takes ~250 ms, so it is done once per layer.
 */
export class TokenCounter extends Effect.Service<TokenCounter>()("engram/TokenCounter", {
  sync: () => {
    const ranks = loadRanks()
    const memo = new Map<string, number>()
    const scratch = makeMergeScratch(ranks)

    const pieceCount = (piece: string): number => {
      const remembered = memo.get(piece)
      if (remembered !== undefined) return remembered
      const bytes = byteString(piece)
      const count = bytes.length > MAX_MERGE_BYTES ? bytes.length : ranks.has(bytes) ? 1 : mergeCount(ranks, bytes, scratch)
      if (piece.length <= PIECE_MEMO_MAX_LENGTH) {
        if (memo.size >= PIECE_MEMO_LIMIT) memo.clear()
        memo.set(piece, count)
      }
      return count
    }

    /** Counts pre-tokens of `text` from `pattern.lastIndex` until about `budget` characters are done. */
    const countSome = (text: string, pattern: RegExp, budget: number): number => {
      const stop = pattern.lastIndex + budget
      let count = 0
      let match: RegExpExecArray | null
      while (pattern.lastIndex < stop && (match = pattern.exec(text)) !== null) count += pieceCount(match[0])
      return count
    }

    const preTokens = () => new RegExp(cl100kBase.pat_str, "gu")

    /** Tokens of `text`, synchronously (for short texts). */
    const count = (text: string): number => (text.length === 0 ? 0 : countSome(text, preTokens(), Infinity))

    /**
     * Tokens of `text`, letting the event loop run after every slice of `YIELD_EVERY_CHARS`
     * characters (and after any text over `YIELD_FROM_CHARS`), so counting a body of megabytes,
     * in one message or in hundreds, never stalls other requests.
     */
    const countYielding = (text: string): Effect.Effect<number> =>
      text.length < YIELD_FROM_CHARS
        ? Effect.sync(() => count(text))
        : Effect.gen(function*() {
          const pattern = preTokens()
          let total = 0
          while (pattern.lastIndex < text.length) {
            const before = pattern.lastIndex
            total += countSome(text, pattern, YIELD_EVERY_CHARS)
            yield* yieldToEventLoop
            // exec resets lastIndex to 0 once no match is left.
            if (pattern.lastIndex <= before) break
          }
          return total
        })

    return { count, countYielding } as const
  }
}) {}
