import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { BoundaryDetector, type DetectorMessage } from "../../src/Memorize/BoundaryDetector.js"
import { LocalBoundaryDetector, localBoundaries } from "../../src/Memorize/LocalBoundaryDetector.js"
import { Lexicon } from "../../src/Text/Lexicon.js"

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const START = Date.UTC(2024, 4, 1, 9, 0, 0)

/** Alternating user/assistant turns, one minute apart unless `gaps` says otherwise (index → extra ms before it). */
const chat = (texts: ReadonlyArray<string>, gaps: Readonly<Record<number, number>> = {}): Array<DetectorMessage> => {
  let t = START
  return texts.map((text, i) => {
    t += MINUTE + (gaps[i] ?? 0)
    const user = i % 2 === 0
    return { sender_id: user ? "u1" : "bot", sender_name: user ? "Ana" : null, role: user ? "user" : "assistant", timestamp: t, text }
  })
}

export const JAPAN_TRIP = [
  "I'm planning a two week trip to Japan in April. Where should I start, Tokyo or Kyoto?",
  "Start in Tokyo: fly into Haneda, spend four or five days in Tokyo, then take the shinkansen to Kyoto. April is cherry blossom season, so book hotels early.",
  "Is the Japan Rail Pass still worth it for a Tokyo, Kyoto, Osaka trip?",
  "After the price increase the rail pass only pays off if you also travel to Hiroshima or further. For Tokyo to Kyoto and back, individual shinkansen tickets are cheaper.",
  "Okay. What neighborhoods in Kyoto are good for a hotel near the temples?",
  "Stay around Gion or Higashiyama for the temples, or near Kyoto Station for easy train access to Nara and Osaka day trips.",
  "Can we see the cherry blossoms at the Philosopher's Path or is it too crowded?",
  "The Philosopher's Path is lovely at sunrise before the crowds. Maruyama Park and Arashiyama also have great blossoms; go early on weekdays.",
]

export const POSTGRES_REPLICATION = [
  "Different question. Our Postgres streaming replication keeps breaking: the standby logs 'requested WAL segment has already been removed'.",
  "The primary recycled WAL the replica still needed. Create a physical replication slot for the standby or raise wal_keep_size on the primary.",
  "We use a replication slot already, but pg_stat_replication shows the replica lagging by gigabytes of WAL.",
  "Check replay_lag versus write_lag in pg_stat_replication. If the standby receives WAL but replays slowly, look for long queries on the replica conflicting with recovery.",
  "replay_lag is huge. There is a reporting query on the standby that runs for an hour. Is hot_standby_feedback related?",
  "Yes. With hot_standby_feedback on, the primary holds back vacuum for that query; with it off, recovery waits up to max_standby_streaming_delay before cancelling the query. Move the reporting query or tune max_standby_streaming_delay.",
  "If I set max_standby_streaming_delay to 30s the lag should stay bounded then?",
  "Mostly: the replica cancels conflicting queries after 30s, so WAL replay catches up. Monitor the slot's retained WAL so the primary disk does not fill.",
]

export const RECIPE = [
  "Thanks! Totally unrelated: what can I cook tonight with chickpeas, spinach and coconut milk?",
  "Make a chickpea and spinach curry: fry onion, garlic and ginger, add curry powder, then the chickpeas and coconut milk, simmer ten minutes and stir in the spinach.",
  "Do I need to drain the canned chickpeas, and how much coconut milk for two servings?",
  "Drain and rinse the chickpeas. For two servings use one can of chickpeas and half a can of coconut milk, about 200 ml.",
  "Could I add rice or naan on the side?",
  "Basmati rice or warm naan both go well with the curry; a squeeze of lime over the spinach at the end brightens it.",
]
