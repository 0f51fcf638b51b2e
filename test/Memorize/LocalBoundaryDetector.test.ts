import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { BoundaryDetector, type DetectorMessage } from "../../src/Memorize/BoundaryDetector.js"
import { LocalBoundaryDetector, localBoundaries } from "../../src/Memorize/LocalBoundaryDetector.js"
import { Lexicon } from "../../src/Text/Lexicon.js"

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const START = Date.UTC(2024, 4, 1, 9, 0, 0)

/**
 * Alternating user/assistant turns one minute apart; `silences` adds extra milliseconds before
 * the message at that 0-based index.
 */
const chat = (texts: ReadonlyArray<string>, silences: Readonly<Record<number, number>> = {}): Array<DetectorMessage> => {
  let timestamp = START
  return texts.map((text, i) => {
    timestamp += MINUTE + (silences[i] ?? 0)
    const user = i % 2 === 0
    return {
      sender_id: user ? "ana" : "assistant",
      sender_name: user ? "Ana" : null,
      role: user ? "user" : "assistant",
      timestamp,
      text
    }
  })
}

const detect = (messages: ReadonlyArray<DetectorMessage>) =>
  Effect.flatMap(BoundaryDetector, (detector) => detector.detect(messages))

/** Every expected cut has a detected cut within one message, and nothing else is cut. */
const expectCutsNear = (cuts: ReadonlyArray<number>, expected: ReadonlyArray<number>) => {
  expect(cuts).toHaveLength(expected.length)
  expected.forEach((b, i) => expect(Math.abs(cuts[i]! - b)).toBeLessThanOrEqual(1))
}

const JAPAN_TRIP = [
  "I'm planning a two week trip to Japan in April. Where should I start, Tokyo or Kyoto?",
  "Start in Tokyo: fly into Haneda, spend four or five days in Tokyo, then take the shinkansen to Kyoto. April is cherry blossom season, so book hotels early.",
  "Is the Japan Rail Pass still worth it for a Tokyo, Kyoto, Osaka trip?",
  "After the price increase the rail pass only pays off if you also travel to Hiroshima or further. For Tokyo to Kyoto and back, individual shinkansen tickets are cheaper.",
  "Okay. What neighborhoods in Kyoto are good for a hotel near the temples?",
  "Stay around Gion or Higashiyama for the temples, or near Kyoto Station for easy train access to Nara and Osaka day trips.",
  "Can we see the cherry blossoms at the Philosopher's Path or is it too crowded?",
  "The Philosopher's Path is lovely at sunrise before the crowds. Maruyama Park and Arashiyama also have great blossoms; go early on weekdays.",
]

const POSTGRES_REPLICATION = [
  "Different question. Our Postgres streaming replication keeps breaking: the standby logs 'requested WAL segment has already been removed'.",
  "The primary recycled WAL the replica still needed. Create a physical replication slot for the standby or raise wal_keep_size on the primary.",
  "We use a replication slot already, but pg_stat_replication shows the replica lagging by gigabytes of WAL.",
  "Check replay_lag versus write_lag in pg_stat_replication. If the standby receives WAL but replays slowly, look for long queries on the replica conflicting with recovery.",
  "replay_lag is huge. There is a reporting query on the standby that runs for an hour. Is hot_standby_feedback related?",
  "Yes. With hot_standby_feedback on, the primary holds back vacuum for that query; with it off, recovery waits up to max_standby_streaming_delay before cancelling the query. Move the reporting query or tune max_standby_streaming_delay.",
  "If I set max_standby_streaming_delay to 30s the lag should stay bounded then?",
  "Mostly: the replica cancels conflicting queries after 30s, so WAL replay catches up. Monitor the slot's retained WAL so the primary disk does not fill.",
]

const RECIPE = [
  "Thanks! Totally unrelated: what can I cook tonight with chickpeas, spinach and coconut milk?",
  "Make a chickpea and spinach curry: fry onion, garlic and ginger, add curry powder, then the chickpeas and coconut milk, simmer ten minutes and stir in the spinach.",
  "Do I need to drain the canned chickpeas, and how much coconut milk for two servings?",
  "Drain and rinse the chickpeas. For two servings use one can of chickpeas and half a can of coconut milk, about 200 ml.",
  "Could I add rice or naan on the side?",
  "Basmati rice or warm naan both go well with the curry; a squeeze of lime over the spinach at the end brightens it.",
]

const MARATHON_TRAINING = [
  "I signed up for my first marathon in October. How should I structure my training?",
  "With sixteen weeks, build your weekly mileage slowly: three easy runs, one long run and a rest day. Increase the long run by about a mile each week.",
  "How slow should the easy runs be? I usually run everything at the same pace.",
  "Easy runs should be conversational, roughly one to two minutes per mile slower than your marathon pace. Most of your weekly mileage should be easy.",
  "What marathon pace should I aim for if my half marathon time is 1:55?",
  "A 1:55 half marathon predicts roughly a 4:00 marathon, so train your marathon pace runs around 9:10 per mile.",
  "Should the long run include marathon pace miles?",
  "Later in the training block, finish some long runs with three to six miles at marathon pace. Keep the early long runs easy.",
  "My knees get sore after long runs. Is that normal?",
  "Some soreness after a long run is normal, but sharp knee pain is not. Check your running shoes, add strength work, and don't increase mileage too fast.",
  "How often should I replace running shoes?",
  "Most running shoes last 300 to 500 miles. Rotate two pairs if you run most days so each pair recovers between runs.",
  "What should I eat during the long run?",
  "Practice marathon fueling on long runs: a gel every 30 to 45 minutes after the first hour, with water. Use the same gels you will use on race day.",
  "And before the marathon, do I carb load?",
  "Carb load for two or three days before the marathon while you taper your mileage, so your legs are fresh on race day.",
  "How long is the taper?",
  "A three week taper is common: cut weekly mileage by about 20 percent, then 40, then 60 in race week, keeping a few short marathon pace runs.",
  "Great, I'll put the long runs and the taper into a training plan.",
  "Sounds good. Log every run, and adjust the plan if your legs feel heavy for several days in a row.",
]

const WIFI_TROUBLE = [
  "My home wifi keeps dropping every evening, the router light turns orange.",
  "An orange light usually means the router lost the connection to your provider. Does the modem stay online when the wifi drops?",
  "The modem looks fine, only the wifi goes down. Laptops and phones all disconnect.",
  "Then it is probably channel interference. Log into the router admin page and switch the 2.4 GHz band to channel 1, 6 or 11.",
  "I changed the router to channel 6. Should I also update the router firmware?",
  "Yes, update the router firmware from the admin page, then reboot. If the wifi still drops, a mesh system may be the fix.",
]

const TOKYO_ZH = [
  "我下个月想去东京旅行，大概玩五天，有什么推荐的行程吗？",
  "东京五天的话，可以先去浅草和上野，第二天去涩谷和新宿，再安排一天去镰仓或者富士山。",
  "富士山一日游怎么去比较方便？",
  "从新宿坐高速巴士去河口湖大约两个小时，河口湖看富士山的风景最好。",
  "东京的酒店住在哪个区比较方便？",
  "住在新宿或者上野都很方便，地铁和电车去各个景点都很快。",
]

const BRAISED_PORK_ZH = [
  "换个话题，红烧肉怎么做才不腻？",
  "五花肉先焯水，再用小火炒出油，加冰糖炒糖色，然后加酱油和料酒慢慢炖一个小时。",
  "冰糖可以换成白糖吗？",
  "可以，不过冰糖炒出来的糖色更亮，红烧肉的味道也更醇。",
  "炖的时候要加多少水？",
  "水要没过五花肉，小火炖到汤汁浓稠，最后大火收汁就可以了。",
]

const TestLayer = LocalBoundaryDetector.layer.pipe(Layer.provideMerge(Lexicon.Default))

layer(TestLayer)("LocalBoundaryDetector", (it) => {
  it.effect("is named local", () =>
    Effect.gen(function*() {
      const detector = yield* BoundaryDetector
      expect(detector.name).toBe("local")
    }))

  it.effect("cuts at the topic shifts of a trip / database / recipe conversation", () =>
    Effect.gen(function*() {
      const cuts = yield* detect(chat([...JAPAN_TRIP, ...POSTGRES_REPLICATION, ...RECIPE]))
      expectCutsNear(cuts, [8, 16])
    }))

  it.effect("does not cut a 20-turn single-topic conversation", () =>
    Effect.gen(function*() {
      expect(MARATHON_TRAINING).toHaveLength(20)
      expect(yield* detect(chat(MARATHON_TRAINING))).toEqual([])
      expect(yield* detect(chat(POSTGRES_REPLICATION))).toEqual([])
    }))

  it.effect("waits for a few messages of the new topic before cutting", () =>
    Effect.gen(function*() {
      // One or two messages on the database are not yet evidence of a new topic...
      expect(yield* detect(chat([...JAPAN_TRIP, ...POSTGRES_REPLICATION.slice(0, 1)]))).toEqual([])
      expect(yield* detect(chat([...JAPAN_TRIP, ...POSTGRES_REPLICATION.slice(0, 2)]))).toEqual([])
      // ...a few are.
      expectCutsNear(yield* detect(chat([...JAPAN_TRIP, ...POSTGRES_REPLICATION.slice(0, 4)])), [8])
    }))

  it.effect("keeps an acknowledgement with the topic it closes", () =>
    Effect.gen(function*() {
      const cuts = yield* detect(chat([...WIFI_TROUBLE, "ok great", "👍", ...RECIPE]))
      expect(cuts).toEqual([8])
    }))

  it.effect("cuts at a five-hour silence followed by another topic", () =>
    Effect.gen(function*() {
      const texts = [...WIFI_TROUBLE, ...RECIPE.slice(0, 2)]
      // Too little text after the silence for a lexical cut: the silence decides.
      expect(yield* detect(chat(texts))).toEqual([])
      expect(yield* detect(chat(texts, { 6: 5 * HOUR }))).toEqual([6])
    }))

  it.effect("does not cut a long silence when the conversation resumes on the same subject", () =>
    Effect.gen(function*() {
      const resumed = [
        ...WIFI_TROUBLE,
        "Back again: the wifi dropped twice overnight even after the router firmware update.",
        "Then check whether the router overheats, and try the 5 GHz band of the router for the laptops."
      ]
      expect(yield* detect(chat(resumed, { 6: 5 * HOUR }))).toEqual([])
    }))

  it.effect("cuts Chinese text through character bigrams", () =>
    Effect.gen(function*() {
      expectCutsNear(yield* detect(chat([...TOKYO_ZH, ...BRAISED_PORK_ZH])), [6])
      expect(yield* detect(chat(TOKYO_ZH))).toEqual([])
    }))

  it.effect("answers [] for zero, one or two messages", () =>
    Effect.gen(function*() {
      expect(yield* detect([])).toEqual([])
      expect(yield* detect(chat([JAPAN_TRIP[0]!]))).toEqual([])
      expect(yield* detect(chat([JAPAN_TRIP[0]!, RECIPE[0]!]))).toEqual([])
      expect(yield* detect(chat([JAPAN_TRIP[0]!, RECIPE[0]!], { 1: 10 * HOUR }))).toEqual([1])
    }))

  it.effect("survives empty, blank and emoji-only messages", () =>
    Effect.gen(function*() {
      expect(yield* detect(chat(["", "   ", "😀", "\n\t", "🎉🎉", ""]))).toEqual([])
      expect(yield* detect(chat(["", "   ", "😀", "\n\t", "🎉🎉", ""], { 3: 6 * HOUR }))).toEqual([3])
      const noisy = [
        "",
        ...JAPAN_TRIP.slice(0, 4),
        "😀",
        ...JAPAN_TRIP.slice(4),
        "   ",
        ...POSTGRES_REPLICATION.slice(0, 5),
        "",
        ...POSTGRES_REPLICATION.slice(5),
        "👍"
      ]
      const cuts = yield* detect(chat(noisy))
      expectCutsNear(cuts, [10])
    }))

  it.effect("answers ascending in-range boundaries, the same every time", () =>
    Effect.gen(function*() {
      const messages = chat([...RECIPE, ...WIFI_TROUBLE, ...JAPAN_TRIP, ...POSTGRES_REPLICATION], { 12: 5 * HOUR })
      const first = yield* detect(messages)
      expect(first.length).toBeGreaterThan(0)
      expect([...first].sort((a, b) => a - b)).toEqual(first)
      expect(first.every((b) => Number.isInteger(b) && b >= 1 && b < messages.length)).toBe(true)
      expect(yield* detect(messages)).toEqual(first)
    }))

  // Speed is measured by bench/, never asserted here; this checks a long rotation of topics is cut often.
  it.effect("cuts a few hundred messages rotating through topics many times", () =>
    Effect.gen(function*() {
      const topics = [JAPAN_TRIP, POSTGRES_REPLICATION, RECIPE, MARATHON_TRAINING, WIFI_TROUBLE]
      const texts = Array.from({ length: 300 }, (_, i) => `${topics[Math.floor(i / 6) % topics.length]![i % 6]!} #${i}`)
      const cuts = yield* detect(chat(texts))
      expect(cuts.length).toBeGreaterThan(10)
    }))
})

describe("localBoundaries", () => {
  it("honours its options", () => {
    const terms = [["cat"], ["cat"], ["cat"], ["dog"], ["dog"], ["dog"]]
    const timestamps = [0, 1, 2, 3, 4, 5]
    // One-term messages count as a sixth of a message each: too little evidence after the cut.
    expect(localBoundaries(terms, timestamps)).toEqual([])
    expect(localBoundaries(terms, timestamps, { fullMessageTerms: 1 })).toEqual([3])
    expect(localBoundaries(terms, timestamps, { fullMessageTerms: 1, minTrailingMessages: 4 })).toEqual([])
    expect(localBoundaries(terms, timestamps, { fullMessageTerms: 1, minSegmentMessages: 4 })).toEqual([])
    const later = [0, 1, 2, 3 + 2 * HOUR, 4 + 2 * HOUR, 5 + 2 * HOUR]
    expect(localBoundaries(terms, later)).toEqual([])
    expect(localBoundaries(terms, later, { timeGapMs: HOUR })).toEqual([3])
  })
})
