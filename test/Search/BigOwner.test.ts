import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { SearchRequest, type SearchRequestInput } from "../../src/Domain/SearchRequest.js"
import { BIG_OWNER_ITEMS, Search } from "../../src/Search/Search.js"
import { type CorpusCell, episodeIdIn, seedCorpus, T0 } from "../fixtures/searchCorpus.js"
import { keywordSearchTestLayer } from "../support/SearchTestLayer.js"

/**
 * An owner past BIG_OWNER_ITEMS: every diary entry says "diary" and "weather"; one also mentions a
 * zeppelin. Another user has a zeppelin too, and a small owner shares the app.
 */
const SIZE = BIG_OWNER_ITEMS + 100
const ZEPPELIN_AT = 37

const diary: ReadonlyArray<CorpusCell> = Array.from({ length: SIZE }, (_, i) => ({
  memcell_id: `mc-diary-${i}`,
  session_id: `s-diary-${Math.floor(i / 50)}`,
  timestamp: T0 + i * 60_000,
  sender_ids: ["big"],
  message_ids: [`d-${i}`],
  episodes: [{
    user_id: "big",
    title: `Diary entry ${i}`,
    summary: `Diary about the weather on day ${i}.`,
    content: i === ZEPPELIN_AT ? "Dear diary, the weather was fine and I saw a zeppelin." : "Dear diary, the weather was fine."
  }],
  facts: [{ user_id: "big", content: i === ZEPPELIN_AT ? "Big saw a zeppelin." : `Big wrote diary entry ${i}.`, message_ids: [`d-${i}`] }]
}))

const others: ReadonlyArray<CorpusCell> = [
  {
    memcell_id: "mc-small-zeppelin",
    session_id: "s-small",
    timestamp: T0,
    sender_ids: ["small"],
    message_ids: ["small-1"],
    episodes: [{ user_id: "small", title: "Zeppelin ride", summary: "Small rode a zeppelin.", content: "Small said the zeppelin ride was great." }]
  }
]

const seeded = Layer.effectDiscard(seedCorpus([...diary, ...others])).pipe(Layer.provideMerge(keywordSearchTestLayer()))

const search = (input: SearchRequestInput) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(SearchRequest)(input)), (request) => Effect.flatMap(Search, (s) => s.search(request)))
const ids = (result: { episodes: ReadonlyArray<{ id: string }> }) => result.episodes.map((e) => e.id)

layer(seeded, { timeout: 60_000 })("search for an owner with many items", (it) => {
  it.effect("ranks by the rare word when common words match everything, and stays within the owner's scope", () =>
    Effect.gen(function*() {
      const result = yield* search({ user_id: "big", query: "diary weather zeppelin" })
      expect(ids(result)[0]).toBe(episodeIdIn(`mc-diary-${ZEPPELIN_AT}`, "big"))
      expect(result.episodes[0]!.atomic_facts.map((f) => f.content)).toEqual(["Big saw a zeppelin."])
      expect(result.episodes.every((e) => e.user_id === "big")).toBe(true)
      expect(ids(yield* search({ user_id: "small", query: "diary zeppelin" }))).toEqual([episodeIdIn("mc-small-zeppelin", "small")])
    }))

  it.effect("a query of only common words still answers (the newest matches, ranked), bounded by top_k", () =>
    Effect.gen(function*() {
      const result = yield* search({ user_id: "big", query: "diary weather", top_k: 5 })
      expect(result.episodes).toHaveLength(5)
      expect(result.episodes.every((e) => e.user_id === "big")).toBe(true)
    }))

  it.effect("filters still apply", () =>
    Effect.gen(function*() {
      const result = yield* search({ user_id: "big", query: "zeppelin diary", filters: { session_id: "s-diary-0" } })
      expect(ids(result)[0]).toBe(episodeIdIn(`mc-diary-${ZEPPELIN_AT}`, "big"))
      expect(result.episodes.every((e) => e.session_id === "s-diary-0")).toBe(true)
    }))
})
