import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { BoundaryDetector, type DetectorMessage } from "../../src/Memorize/BoundaryDetector.js"
import { emptyTiling, LocalBoundaryDetector, localBoundaries } from "../../src/Memorize/LocalBoundaryDetector.js"
import { Lexicon } from "../../src/Text/Lexicon.js"
import { seededRandom } from "../support/SeededRandom.js"

/**
 * The local detector analyzes a session's buffer incrementally (it keeps the analysis of the last
 * call and extends it). Its answers must be exactly those of a full re-analysis, on a seeded
 * conversation that switches topics, has acknowledgements, blank turns and long silences, and
 * loses its beginning whenever a memcell is committed.
 */

const TOPICS = [
  "flight hotel lisbon conference booking airport taxi luggage itinerary visa passport museum tram",
  "postgres replica replication slot wal lag standby vacuum checkpoint index query planner primary",
  "bread dough flour yeast oven knead proof crust sourdough starter bake salt hydration",
  "marathon training pace tempo interval mileage shoes hydration recovery stretch race long run",
  "router wifi firmware channel band signal laptop modem mesh restart dropout antenna ssid"
]
const ACKS = ["ok", "thanks!", "👍", "got it", "", "   "]
const MINUTE = 60_000
const START = Date.UTC(2024, 4, 1, 9, 0, 0)

/** A conversation of `n` messages: topics of 4-14 turns, some acknowledgements and silences. */
const conversation = (seed: number, n: number): Array<DetectorMessage> => {
  const random = seededRandom(seed)
  const pick = <A>(items: ReadonlyArray<A>) => items[Math.floor(random() * items.length)]!
  const messages: Array<DetectorMessage> = []
  let topic = 0
  let left = 0
  let timestamp = START
  for (let i = 0; i < n; i++) {
    if (left === 0) {
      topic = (topic + 1 + Math.floor(random() * (TOPICS.length - 1))) % TOPICS.length
      left = 4 + Math.floor(random() * 11)
    }
    left--
    timestamp += MINUTE + (random() < 0.04 ? 5 * 60 * MINUTE : 0)
    const words = TOPICS[topic]!.split(" ")
    const text = random() < 0.12
      ? pick(ACKS)
      : Array.from({ length: 3 + Math.floor(random() * 12) }, () => pick(words)).join(" ") + (random() < 0.3 ? ` ${pick(TOPICS).split(" ")[0]}` : "")
    const user = i % 2 === 0
    messages.push({ sender_id: user ? "ana" : "assistant", sender_name: null, role: user ? "user" : "assistant", timestamp, text })
  }
  return messages
}

/** Counts the texts the detector analyzes (the lexicon is where its per-message work is). */
const countingLexicon = (counter: { calls: number }) =>
  Layer.effect(
    Lexicon,
    Effect.map(Lexicon, (inner) => Lexicon.make({ ...inner, terms: (text: string) => (counter.calls++, inner.terms(text)) }))
  ).pipe(Layer.provide(Lexicon.Default))

describe("Tiling", () => {
  it("appending in steps gives the very numbers of one whole analysis", () => {
    const random = seededRandom(11)
    const messages = conversation(5, 160)
    const terms = messages.map((m) => m.text.split(/\s+/).filter((w) => w.length > 0))
    const timestamps = messages.map((m) => m.timestamp)
    const whole = emptyTiling()
    whole.append(terms, timestamps)
    const stepped = emptyTiling()
    for (let at = 0; at < messages.length;) {
      const step = 1 + Math.floor(random() * 5)
      stepped.append(terms.slice(at, at + step), timestamps.slice(at, at + step))
      at += step
      // The wide similarities are computed on demand: ask for them at some steps only.
      if (random() < 0.3) stepped.wide()
    }
    expect(stepped.raw).toEqual(whole.raw)
    expect(stepped.wide()).toEqual(whole.wide())
    expect(stepped.contentWeights).toEqual(whole.contentWeights)
  })
})

const counter = { calls: 0 }

layer(LocalBoundaryDetector.layer.pipe(Layer.provideMerge(countingLexicon(counter))))("incremental LocalBoundaryDetector", (it) => {
  it.effect("decides exactly as a full re-analysis while the buffer grows and memcells take its beginning", () =>
    Effect.gen(function*() {
      const detector = yield* BoundaryDetector
      const lexicon = yield* Lexicon
      const random = seededRandom(42)
      const messages = conversation(7, 600)
      let buffer: Array<DetectorMessage> = []
      let next = 0
      let cuts = 0
      let analyzed = 0
      let wholeEachTime = 0
      while (next < messages.length) {
        const step = 1 + Math.floor(random() * 4)
        const added = messages.slice(next, next + step)
        next += step
        buffer = [...buffer, ...added]
        const before = counter.calls
        const incremental = yield* detector.detect(buffer, "session-a")
        analyzed += counter.calls - before
        wholeEachTime += buffer.length
        const full = localBoundaries(buffer.map((m) => lexicon.terms(m.text)), buffer.map((m) => m.timestamp))
        expect(incremental).toEqual(full)
        // A flush-free cycle commits what comes before the last boundary, as planSegments does.
        const last = incremental.at(-1)
        if (last !== undefined) {
          cuts++
          buffer = buffer.slice(last)
        }
      }
      expect(cuts).toBeGreaterThan(10)
      // Every message's text analyzed once (a cut reuses the terms of what stays), where a full
      // re-analysis reads the whole buffer on every add.
      expect(analyzed).toBe(messages.length)
      expect(wholeEachTime).toBeGreaterThan(3 * messages.length)
    }))

  it.effect("a buffer changed under the kept analysis (another writer) is analyzed afresh, with the same answer", () =>
    Effect.gen(function*() {
      const detector = yield* BoundaryDetector
      const lexicon = yield* Lexicon
      const messages = conversation(3, 80)
      const full = (buffer: ReadonlyArray<DetectorMessage>) =>
        localBoundaries(buffer.map((m) => lexicon.terms(m.text)), buffer.map((m) => m.timestamp))
      yield* detector.detect(messages.slice(0, 40), "session-b")
      // Same length, one text changed in the middle; then a timestamp changed.
      const edited = messages.slice(0, 41).map((m, i) => i === 20 ? { ...m, text: `${m.text} replica` } : m)
      expect(yield* detector.detect(edited, "session-b")).toEqual(full(edited))
      const moved = messages.slice(0, 42).map((m, i) => i === 5 ? { ...m, timestamp: m.timestamp + 1 } : m)
      expect(yield* detector.detect(moved, "session-b")).toEqual(full(moved))
      // Without a stream name nothing is kept, and the answer is the same.
      expect(yield* detector.detect(messages, undefined)).toEqual(full(messages))
      expect(yield* detector.detect(messages, "session-b")).toEqual(full(messages))
    }))
})
