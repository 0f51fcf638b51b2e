/**
 * Every per-request CPU step on text shaped to hurt tokenizers and regexes costs no more than a
 * few times what the same step costs on ordinary English of the same size, measured in the same
 * test (CPU time, median of several runs), so the bound holds on a loaded machine. Superlinear
 * steps fail by orders of magnitude at these sizes (wink-nlp took 3 s on 10,000 "x"; js-tiktoken 9 s).
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fc from "fast-check"
import type { IncomingMessage, StoredMessage } from "../../src/Domain/Message.js"
import { localEpisodes } from "../../src/Extraction/LocalEpisodeExtractor.js"
import { localFacts } from "../../src/Extraction/LocalFactExtractor.js"
import { localForesight } from "../../src/Extraction/LocalForesightExtractor.js"
import { localBoundaries } from "../../src/Memorize/LocalBoundaryDetector.js"
import { GroupCommit } from "../../src/Storage/GroupCommit.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { messageFingerprint } from "../../src/Ledger/MessageIdentity.js"
import { keywordTerms } from "../../src/Search/KeywordQuery.js"
import { makeZonedCalendar } from "../../src/Text/Calendar.js"
import { Lexicon } from "../../src/Text/Lexicon.js"
import { TokenCounter } from "../../src/Text/TokenCounter.js"
import { LocalBoundaryDetector } from "../../src/Memorize/LocalBoundaryDetector.js"
import { SessionLock } from "../../src/Memorize/SessionLock.js"
import { LedgerRepo } from "../../src/Ledger/LedgerRepo.js"
import * as Database from "../../src/Storage/Database.js"
import { JobQueue } from "../../src/Jobs/JobQueue.js"
import { MemcellRepo } from "../../src/Memorize/MemcellRepo.js"
import { ExtractionSignal } from "../../src/Jobs/ExtractionSignal.js"
import { configLayer } from "../support/MemoryTestLayer.js"
import { addRequest, BASE_TS, userMessage } from "../support/Messages.js"
import { seededRandom } from "../support/SeededRandom.js"

/** Allowed CPU per input, as a multiple of the same step on same-size English. */
const FACTOR = 5
/** Measurements an over-budget step gets before it counts as over budget. */
const CONFIRMATIONS = 3
const SIZE = 8_000
const RUNS = 3

const WORDS = (
  "I moved to Berlin last year and next Friday my sister is flying to Lisbon for a conference about " +
  "databases we booked the hotel near the river the replication lag went up again after the deploy " +
  "she recommended a bakery that does great pastries remind me which train leaves in the morning"
).split(" ")

/** Ordinary English: sentences of common words, a full stop every 8-20 words. */
const english = (size: number, seed: number): string => {
  const random = randomInts(seed)
  let text = ""
  let inSentence = 0
  while (text.length < size) {
    const word = WORDS[random.int(WORDS.length)]!
    text += inSentence === 0 ? word[0]!.toUpperCase() + word.slice(1) : word
    inSentence++
    if (inSentence > 8 + random.int(12)) {
      text += ". "
      inSentence = 0
    } else text += " "
  }
  return text.slice(0, size)
}

/** `int(n)`: a seeded integer in [0, n). */
const randomInts = (seed: number) => {
  const next = seededRandom(seed)
  return { int: (n: number) => Math.floor(next() * n) }
}

const repeatTo = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size)
const bytes = (count: number, seed: number) => {
  const random = randomInts(seed)
  return Buffer.from(Array.from({ length: count }, () => random.int(256)))
}
const pick = (alphabet: string, size: number, seed: number) => {
  const random = randomInts(seed)
  const chars = Array.from(alphabet)
  return Array.from({ length: size }, () => chars[random.int(chars.length)]).join("")
}

/** The shapes of the issue, each from a seed. */
const shapes: Record<string, (size: number, seed: number, char: string) => string> = {
  oneCharacter: (size, _seed, char) => char.repeat(size),
  noWhitespace: (size, seed) => pick("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", size, seed),
  letterRun: (size, seed) => pick("abcdefghijklmnopqrstuvwxyz", size, seed),
  base64: (size, seed) => bytes(Math.ceil(size * 0.75), seed).toString("base64").slice(0, size),
  hex: (size, seed) => bytes(Math.ceil(size / 2), seed).toString("hex").slice(0, size),
  repeatedShortWords: (size, seed) => repeatTo(["ok ", "a I ", "no no ", "I will "][seed % 4]!, size),
  cjkWithoutSpaces: (size, seed) => pick("我们明天去东京开会然后回家吃饭的是了在有人这中大为上个国", size, seed),
  emojiAndCombiningMarks: (size, seed) => pick("😀👍🏽\u0301\u0302\u0308e\u200d🇩🇪", size, seed),
  zeroWidth: (size, seed) => pick("a\u200b\u200c\u200d\u2060\ufeffb", size, seed),
  punctuationRun: (size, _seed, char) => repeatTo(`${char}!?.`, size),
  spacedPunctuation: (size) => repeatTo(". ! ", size),
  longWordsSpaced: (size, seed) => repeatTo(`${pick("abcdefghij", 300, seed)} `, size),
  whitespaceRun: (size) => repeatTo(" \t", size - 1) + "x",
  newlines: (size) => repeatTo("\n", size)
}

const calendar = makeZonedCalendar("UTC")
const stored = (content: string, index: number): StoredMessage => ({
  seq: index,
  message_id: `m${index}`,
  app_id: "default" as StoredMessage["app_id"],
  project_id: "default" as StoredMessage["project_id"],
  session_id: "s",
  sender_id: "alice",
  sender_name: "Alice",
  role: "user",
  timestamp: BASE_TS + index * 1000,
  content,
  tool_calls: null,
  tool_call_id: null,
  token_count: 0,
  memcell_id: null
})

/** CPU milliseconds of `f`, the median of RUNS runs; `variant` makes every run's input new (no memo hit). */
const cpuMedian = (f: (variant: number) => unknown): number => {
  const samples: Array<number> = []
  for (let run = 0; run < RUNS; run++) {
    const before = process.cpuUsage()
    f(run)
    const used = process.cpuUsage(before)
    samples.push((used.user + used.system) / 1000)
  }
  return samples.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!
}

const analysisLayer = Layer.mergeAll(Lexicon.Default, TokenCounter.Default)

layer(analysisLayer, { timeout: 120_000 })("pathological text", (it) => {
  it.effect("costs every text step at most 5x same-size English", () =>
    Effect.gen(function*() {
      const lexicon = yield* Lexicon
      const tokens = yield* TokenCounter
      const ordinary = english(SIZE * 2, 1)
      const cell = (text: string) => ({
        memcell: {
          memcell_id: "c",
          app_id: stored("", 0).app_id,
          project_id: stored("", 0).project_id,
          session_id: "s",
          created_at: BASE_TS,
          message_ids: ["m0", "m1", "m2"],
          sender_ids: ["alice"],
          timestamp: BASE_TS
        },
        messages: [stored(ordinary.slice(0, 300), 0), stored(text, 1), stored(ordinary.slice(300, 600), 2)]
      })
      // Each step gets a text and a variant number; the variant is prefixed so memos never answer.
      const steps: Record<string, (text: string) => unknown> = {
        tokenCount: (text) => tokens.count(text),
        lexiconTerms: (text) => lexicon.terms(text),
        sentences: (text) => lexicon.sentences(text),
        boundaryDetector: (text) =>
          localBoundaries([lexicon.terms(ordinary.slice(0, 300)), lexicon.terms(text), lexicon.terms(ordinary.slice(300, 600))], [0, 1, 2]),
        episode: (text) => localEpisodes(lexicon, new Set(), calendar, cell(text)),
        facts: (text) => localFacts(lexicon, calendar, cell(text)),
        foresight: (text) => localForesight(lexicon, calendar, cell(text)),
        keywordQuery: (text) => keywordTerms(text.slice(0, 2000), () => true),
        fingerprint: (text) =>
          messageFingerprint({ app_id: "a", project_id: "p", session_id: "s" } as never, userMessage(0, "alice", BASE_TS, { content: text })),
        jsonBody: (text) => JSON.parse(JSON.stringify({ session_id: "s", messages: [{ content: text }] }))
      }
      const run = (step: (text: string) => unknown, make: (variant: number) => string) => {
        const inputs = Array.from({ length: RUNS }, (_, variant) => make(variant))
        return cpuMedian((variant) => step(inputs[variant]!))
      }
      const measureBaseline = (name: string) => run(steps[name]!, (variant) => `v${variant} ${english(SIZE, variant + 2)}`.slice(0, SIZE))
      const baseline: Record<string, number> = Object.fromEntries(Object.keys(steps).map((name) => [name, measureBaseline(name)]))
      const baselineTotal = Object.values(baseline).reduce((sum, ms) => sum + ms, 0)
      // Steps far cheaper than the rest (a hash, a parse) get a floor, so timer resolution and a
      // stray GC pause are not read as a regression; it is still relative to the same run.
      const budget = (englishMs: number) => FACTOR * Math.max(englishMs, baselineTotal / 20)

      const overBudget: Array<string> = []
      fc.assert(
        fc.property(
          fc.constantFrom(...Object.keys(shapes)),
          fc.integer({ min: 1, max: 1_000_000 }),
          fc.constantFrom("x", "a", "=", "-", "0", "é", "\u200b"),
          (shape, seed, char) => {
            for (const [name, step] of Object.entries(steps)) {
              const measure = () => run(step, (variant) => `v${variant} ${shapes[shape]!(SIZE, seed + variant, char)}`.slice(0, SIZE))
              // A GC pause or a preempted core can inflate one measurement; a superlinear step is
              // over budget every time. So an over-budget step is measured again (with its English
              // baseline re-measured too) and counts only if it stays over in every attempt.
              let englishMs = baseline[name]!
              let ms = measure()
              for (let attempt = 1; attempt < CONFIRMATIONS && ms > budget(englishMs); attempt++) {
                englishMs = measureBaseline(name)
                ms = measure()
              }
              if (ms > budget(englishMs)) overBudget.push(`${shape}/${name}: ${ms.toFixed(1)} ms, English ${englishMs.toFixed(1)} ms`)
            }
          }
        ),
        { numRuns: 16, seed: 9 }
      )
      expect(overBudget).toEqual([])
    }), 300_000)
})

const ADD_MESSAGES = 500
const ADD_MESSAGE_CHARS = 500

/** Nested `depth` levels, as deep as the HTTP body guard lets through. */
const nested = (depth: number, leaf: string): Record<string, unknown> =>
  depth === 0 ? { leaf } : { arguments: [nested(depth - 1, leaf)] }

/** Memory as served offline: the local boundary detector, on a real (in-memory) SQLite. */
const offlineMemory = Memory.Default.pipe(
  Layer.provide(Layer.mergeAll(LedgerRepo.Default, MemcellRepo.Default, JobQueue.Default, ExtractionSignal.Default, GroupCommit.Default)),
  Layer.provide(Layer.mergeAll(LocalBoundaryDetector.layer, SessionLock.layerConfig, TokenCounter.Default)),
  Layer.provide(Layer.mergeAll(Database.layerMemory, Lexicon.Default)),
  Layer.provide(configLayer()),
  Layer.orDie
)

describe("pathological adds", () => {
  layer(offlineMemory, { timeout: 120_000 })("Memory.add", (it) => {
    it.effect("500 messages of pathological text or deeply nested tool calls cost at most 5x ordinary English", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const batch = (session: string, content: (index: number) => string, extra: Partial<IncomingMessage> = {}) =>
          addRequest(
            session,
            Array.from({ length: ADD_MESSAGES }, (_, index) => userMessage(index, "alice", BASE_TS + index * 1000, { content: content(index), ...extra }))
          )
        const cost = (session: string, make: (variant: number) => ReturnType<typeof batch>) =>
          Effect.gen(function*() {
            const samples: Array<number> = []
            for (let variant = 0; variant < RUNS; variant++) {
              const request = make(variant)
              const before = process.cpuUsage()
              yield* memory.add({ ...request, session_id: `${session}-${variant}` })
              const used = process.cpuUsage(before)
              samples.push((used.user + used.system) / 1000)
            }
            return samples.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!
          })
        const ordinary = yield* cost("english", (v) => batch("english", (i) => english(ADD_MESSAGE_CHARS, v * 1000 + i)))
        const hostile: Record<string, number> = {
          oneCharacter: yield* cost("one", (v) => batch("one", (i) => `${v}-${i} ${"x".repeat(ADD_MESSAGE_CHARS)}`)),
          base64: yield* cost("b64", (v) => batch("b64", (i) => shapes.base64!(ADD_MESSAGE_CHARS, v * 1000 + i, "x"))),
          cjk: yield* cost("cjk", (v) => batch("cjk", (i) => shapes.cjkWithoutSpaces!(ADD_MESSAGE_CHARS, v * 1000 + i, "x"))),
          nestedToolCalls: yield* cost("nested", (v) =>
            batch("nested", (i) => english(100, v * 1000 + i), {
              role: "assistant",
              tool_calls: [{ id: "call", function: { name: "deep", arguments: nested(60, "y".repeat(ADD_MESSAGE_CHARS / 2)) } }]
            }))
        }
        for (const [shape, ms] of Object.entries(hostile)) {
          expect(ms, `${shape}: ${ms.toFixed(0)} ms, English ${ordinary.toFixed(0)} ms`).toBeLessThanOrEqual(FACTOR * ordinary)
        }
      }), 300_000)
  })
})
