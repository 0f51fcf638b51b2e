import { Effect, Layer } from "effect"
import { Embedder } from "../../src/Llm/Embedder.js"

/**
 * A deterministic embedder for tests and benchmarks: a hashed bag of words. Each word (lowercased,
 * crudely de-suffixed so "run"/"running"/"runs" agree) and each CJK character adds ±1 to one of
 * `dimensions` buckets chosen by its hash; the vector is then L2-normalised. Texts sharing words
 * are near in cosine distance; unrelated texts are nearly orthogonal. No meaning beyond words.
 */

const WORD = /[\p{L}\p{N}]+/gu
const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u

/** FNV-1a, 32 bits. */
const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const stem = (word: string): string => {
  for (const suffix of ["ing", "ed", "es", "s"]) {
    if (word.length > suffix.length + 2 && word.endsWith(suffix)) {
      const base = word.slice(0, -suffix.length)
      // "running" → "runn" → "run"
      return suffix === "ing" && base.length > 3 && base.at(-1) === base.at(-2) ? base.slice(0, -1) : base
    }
  }
  return word
}

export const fakeEmbedding = (text: string, dimensions: number): Float32Array => {
  const vector = new Float32Array(dimensions)
  for (const match of text.toLowerCase().matchAll(WORD)) {
    const word = match[0]
    const tokens = CJK_CHAR.test(word) ? Array.from(word) : [stem(word)]
    for (const token of tokens) {
      const h = hash(token)
      vector[h % dimensions]! += (h & 0x80000000) === 0 ? 1 : -1
    }
  }
  let norm = 0
  for (const x of vector) norm += x * x
  if (norm === 0) {
    // No words at all: a fixed direction, so the vector is still usable (and far from most).
    vector[dimensions - 1] = 1
    return vector
  }
  const scale = 1 / Math.sqrt(norm)
  for (let i = 0; i < dimensions; i++) vector[i]! *= scale
  return vector
}

export interface FakeEmbedderOptions {
  readonly model?: string
  readonly dimensions?: number
}

/** `Embedder` answering with `fakeEmbedding`; model "fake-embedder", 384 dimensions unless told. */
export const fakeEmbedderLayer = (options: FakeEmbedderOptions = {}): Layer.Layer<Embedder> => {
  const dimensions = options.dimensions ?? 384
  return Layer.succeed(
    Embedder,
    Embedder.of({
      model: options.model ?? "fake-embedder",
      dimensions,
      embed: (texts) => Effect.sync(() => texts.map((text) => fakeEmbedding(text, dimensions))),
      embedQuery: (query) => Effect.sync(() => fakeEmbedding(query, dimensions))
    })
  )
}
