import { Effect } from "effect"
import model from "wink-eng-lite-web-model"
import winkNLP from "wink-nlp"

/**
 * Runs of Han, Hiragana, Katakana (with the prolonged-sound mark) and Hangul. These scripts are
 * written without spaces (or, for Hangul, with agglutinated particles), so they are indexed by
 * overlapping character bigrams, the usual dictionary-free approach (as in Lucene's CJK analyzer).
 */
const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30fc]+/gu
const HAS_CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u
const HIRAGANA = /^\p{Script=Hiragana}+$/u
/** Anything worth tokenizing at all: a letter or a digit. Emoji-only or blank text skips wink. */
const HAS_WORD_CHARACTER = /[\p{L}\p{N}]/u
/** Numbers, versions, dates and the like carry no topic on their own. */
const NUMERIC_ONLY = /^[\p{N}.,:/_+-]+$/u
const APOSTROPHE = /['\u2019]/
/** Letter/digit runs inside a token that also holds CJK text (e.g. "Postgres的复制"). */
const NON_CJK_WORD = /[\p{L}\p{N}][\p{L}\p{N}'\u2019.-]*/gu
/** CJK sentence enders, which wink's English sentence splitter does not know. */
const CJK_SENTENCE_END = /(?<=[\u3002\uff01\uff1f])/u

/**
 * wink-nlp's tokenizer and sentence splitter are superlinear in the length of a run without
 * whitespace (10,000 "x" took 3 s, 20,000 took 9 s). No word is this long: for terms, a longer
 * run is a blob, hash, URL or minified code and is left out, unless it holds CJK text (written
 * without spaces), whose punctuation then becomes spaces and whose letter runs are cut every
 * `MAX_WORD_CHARS` characters.
 */
export const MAX_WORD_CHARS = 64
const LONG_RUN = new RegExp(String.raw`\S{${MAX_WORD_CHARS + 1},}`, "gu")
const HAS_CJK_CHARACTER = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u
const NOT_WORD_CHARACTERS = /[^\p{L}\p{N}]+/gu
const WORD_PIECE = new RegExp(String.raw`[\p{L}\p{N}]{${MAX_WORD_CHARS}}`, "gu")

/** `text` with every run longer than `MAX_WORD_CHARS` broken into words (linear time); only for terms. */
export const breakLongRuns = (text: string): string =>
  text.replace(LONG_RUN, (run) => HAS_CJK_CHARACTER.test(run) ? run.replace(NOT_WORD_CHARACTERS, " ").replace(WORD_PIECE, "$& ") : " ")

/**
 * For sentence splitting, where the text itself is kept, each long run is swapped for this
 * private-use character (which wink reads as one symbol) and restored in the sentences found.
 */
const RUN_PLACEHOLDER = "\ue000"
const RUN_PLACEHOLDERS = /\ue000/g

/** Above this many distinct entries a memo is simply dropped: cheap, bounded, and rarely hit. */
const WORD_MEMO_LIMIT = 50_000
/** The per-text memo holds at most this many characters of keys (about 8 MB), then starts over. */
const TERMS_MEMO_MAX_CHARS = 4_000_000
/** Texts longer than this (whole files pasted into a chat) are tokenized afresh each time. */
const TERMS_MEMO_MAX_TEXT = 50_000

/**
 * Bigrams of a CJK run; a one-character run is kept whole. Pure-hiragana bigrams are skipped:
 * in Japanese they are nearly always particles and inflections (の, です, ました), the CJK
 * counterpart of stop words.
 */
const cjkTerms = (run: string, out: Array<string>): void => {
  const chars = Array.from(run)
  if (chars.length === 1) {
    if (!HIRAGANA.test(chars[0]!)) out.push(chars[0]!)
    return
  }
  for (let i = 0; i + 1 < chars.length; i++) {
    const bigram = chars[i]! + chars[i + 1]!
    if (!HIRAGANA.test(bigram)) out.push(bigram)
  }
}

/**
 * Text analysis shared by boundary detection, extraction and search: one wink-nlp instance
 * (English lite model) built per layer. All methods are synchronous and pure (their memos only
 * save work), because they run on every message.
 */
export class Lexicon extends Effect.Service<Lexicon>()("engram/Lexicon", {
  sync: () => {
    // Only sentence boundaries are needed; POS tagging and NER would roughly double the cost.
    const nlp = winkNLP(model, ["sbd"])
    const its = nlp.its
    // The model's Porter stemmer, called directly: `its.stem` re-stems every token of every read.
    const stemAddon: unknown = model.addons.stem
    if (typeof stemAddon !== "function") throw new Error("wink-eng-lite-web-model ships no stemmer addon")
    const stemmer = stemAddon as (word: string) => string

    // Stemming is the most expensive step per token, and a conversation's vocabulary is small.
    const stemMemo = new Map<string, string>()
    const stem = (normal: string): string => {
      let stemmed = stemMemo.get(normal)
      if (stemmed === undefined) {
        if (stemMemo.size >= WORD_MEMO_LIMIT) stemMemo.clear()
        stemmed = stemmer(normal)
        stemMemo.set(normal, stemmed)
      }
      return stemmed
    }

    /** The term of a lowercased content word, or undefined when it is too short or only digits. */
    const contentTerm = (normal: string): string | undefined => {
      if (normal.length < 2 || NUMERIC_ONLY.test(normal)) return undefined
      const stemmed = stem(normal)
      return stemmed.length < 2 ? undefined : stemmed
    }

    // Stop-word status of a word seen outside a normal wink token ("I'm" → "i", "Postgres的" → "postgres").
    const stopMemo = new Map<string, boolean>()
    const isStopWord = (word: string): boolean => {
      let stop = stopMemo.get(word)
      if (stop === undefined) {
        if (stopMemo.size >= WORD_MEMO_LIMIT) stopMemo.clear()
        const tokens = nlp.readDoc(word).tokens()
        stop = tokens.length() === 1 && tokens.itemAt(0).out(its.stopWordFlag) === true
        stopMemo.set(word, stop)
      }
      return stop
    }

    const looseWordTerm = (word: string): string | undefined => {
      const lower = word.toLowerCase()
      return isStopWord(lower) ? undefined : contentTerm(lower)
    }

    const pushDefined = (out: Array<string>, term: string | undefined) => {
      if (term !== undefined) out.push(term)
    }

    const tokenTerms = (type: string, normal: string, stop: boolean, out: Array<string>): void => {
      if (HAS_CJK.test(normal)) {
        // wink files CJK as "unk", possibly glued to Latin words and CJK punctuation.
        for (const run of normal.match(CJK_RUN) ?? []) cjkTerms(run, out)
        for (const word of normal.replace(CJK_RUN, " ").match(NON_CJK_WORD) ?? []) pushDefined(out, looseWordTerm(word))
        return
      }
      if (type === "hashtag") return pushDefined(out, looseWordTerm(normal.slice(1)))
      if (type !== "word" || stop) return
      // wink keeps some contractions whole ("i'm", "you're") and possessives ("alice's"): keep the base.
      const apostrophe = normal.search(APOSTROPHE)
      if (apostrophe >= 0) return pushDefined(out, looseWordTerm(normal.slice(0, apostrophe)))
      pushDefined(out, contentTerm(normal))
    }

    const computeTerms = (text: string): ReadonlyArray<string> => {
      if (!HAS_WORD_CHARACTER.test(text)) return []
      const tokens = nlp.readDoc(breakLongRuns(text)).tokens()
      // Whole-column reads are several times faster than per-token `each` callbacks.
      const types = tokens.out(its.type) as ReadonlyArray<string>
      const normals = tokens.out(its.normal) as ReadonlyArray<string>
      const stops = tokens.out(its.stopWordFlag) as ReadonlyArray<boolean>
      const out: Array<string> = []
      for (let i = 0; i < normals.length; i++) tokenTerms(types[i]!, normals[i]!, stops[i]!, out)
      return out
    }

    // Detectors re-read the same buffered messages on every arrival, so whole texts are memoized too.
    const termsMemo = new Map<string, ReadonlyArray<string>>()
    let termsMemoChars = 0

    /**
     * Lowercased Porter stems of the content words of `text`, in text order and with repeats:
     * stop words, punctuation, numbers, emoji, URLs and one-character tokens are dropped; hashtags
     * count as their word; CJK runs give character bigrams. English stemming only: other Latin-script
     * languages are lowercased and lightly (often wrongly) suffix-stripped.
     */
    const terms = (text: string): ReadonlyArray<string> => {
      if (text.length > TERMS_MEMO_MAX_TEXT) return computeTerms(text)
      let cached = termsMemo.get(text)
      if (cached === undefined) {
        if (termsMemoChars + text.length > TERMS_MEMO_MAX_CHARS) {
          termsMemo.clear()
          termsMemoChars = 0
        }
        cached = Object.freeze(computeTerms(text))
        termsMemo.set(text, cached)
        termsMemoChars += text.length
      }
      return cached
    }

    /**
     * Sentences of `text`, trimmed and non-empty; also split after CJK full stops (。！？). Runs
     * longer than `MAX_WORD_CHARS` stay whole inside their sentence, but wink sees each as one
     * placeholder character; a text that already holds that character has them cut up instead.
     */
    const sentences = (text: string): ReadonlyArray<string> => {
      if (text.trim().length === 0) return []
      const runs: Array<string> = []
      const canSwap = !text.includes(RUN_PLACEHOLDER)
      const read = canSwap
        ? text.replace(LONG_RUN, (run) => {
          runs.push(run)
          return RUN_PLACEHOLDER
        })
        : breakLongRuns(text)
      let next = 0
      const out: Array<string> = []
      for (const found of nlp.readDoc(read).sentences().out()) {
        const sentence = runs.length === 0 ? found : found.replace(RUN_PLACEHOLDERS, () => runs[next++] ?? "")
        for (const part of sentence.split(CJK_SENTENCE_END)) {
          const trimmed = part.trim()
          if (trimmed.length > 0) out.push(trimmed)
        }
      }
      return out
    }

    return { terms, sentences } as const
  }
}) {}
