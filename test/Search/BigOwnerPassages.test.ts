import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { ScopeId, type StoredMessage } from "../../src/Domain/Message.js"
import { SearchRequest, type SearchRequestInput } from "../../src/Domain/SearchRequest.js"
import { DerivedRepo, episodeIdOf } from "../../src/Extraction/DerivedRepo.js"
import { BIG_OWNER_ITEMS, Search } from "../../src/Search/Search.js"
import { PASSAGE_POSTINGS_BUDGET } from "../../src/Search/SearchTuning.js"
import { forEachEngine } from "../support/Engines.js"
import { memcellOf } from "../support/Memcells.js"
import { keywordSearchTestLayer } from "../support/SearchTestLayer.js"

/**
 * A big owner's message windows (passages): more episodes than BIG_OWNER_ITEMS and more windows
 * than PASSAGE_POSTINGS_BUDGET, every one saying "diary" and "weather"; one old window mentions
 * a zeppelin. The newest windows of the common words alone would not reach it.
 */
const CELLS = Math.max(BIG_OWNER_ITEMS + 10, Math.ceil(PASSAGE_POSTINGS_BUDGET / 3) + 10)
const ZEPPELIN_AT = 3
const T0 = Date.UTC(2024, 4, 6, 12, 0)

const lines = (i: number) => [
  "Dear diary, the weather was fine.",
  `Diary day ${i}: the weather stayed mild.`,
  i === ZEPPELIN_AT ? "The weather was clear and a zeppelin flew over the diary club." : "The weather report went into the diary."
]

const messagesOf = (cell: string, user: string, texts: ReadonlyArray<string>, at: number): ReadonlyArray<StoredMessage> =>
  texts.map((content, seq) => ({
    seq,
    message_id: `${cell}-${seq}`,
    app_id: ScopeId.make("default"),
    project_id: ScopeId.make("default"),
    session_id: `s-${cell}`,
    sender_id: user,
    sender_name: null,
    role: "user",
    timestamp: at + seq * 1000,
    content,
    tool_calls: null,
    tool_call_id: null,
    token_count: 10,
    memcell_id: cell
  }))

const write = (id: string, user: string, texts: ReadonlyArray<string>, at: number) =>
  Effect.gen(function*() {
    const derived = yield* DerivedRepo
    const messages = messagesOf(id, user, texts, at)
    const episode = { user_id: user, title: `Entry ${id}`, summary: "A diary entry.", content: texts.join("\n") }
    yield* derived.replaceEpisodes(memcellOf(id, messages), [episode], "test", at, messages)
  })

const seed = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // Another user's zeppelin: never part of the big owner's answer.
  yield* sql.withTransaction(write("mc-other", "other", ["I saw a zeppelin over the diary club."], T0))
  for (let start = 0; start < CELLS; start += 250) {
    yield* sql.withTransaction(Effect.forEach(
      Array.from({ length: Math.min(250, CELLS - start) }, (_, k) => start + k),
      (i) => write(`mc-${i}`, "big", lines(i), T0 + (i + 1) * 60_000),
      { discard: true }
    ))
  }
})

const search = (input: SearchRequestInput) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(SearchRequest)(input)), (request) => Effect.flatMap(Search, (s) => s.search(request)))

forEachEngine((engine) =>
  layer(Layer.effectDiscard(seed).pipe(Layer.provideMerge(keywordSearchTestLayer({ database: engine.fresh }))), { timeout: 240_000 })(
    "a big owner's message windows",
    (it) => {
      it.effect("a rare word's window is found however old, among windows whose common words are everywhere", () =>
        Effect.gen(function*() {
          const result = yield* search({ user_id: "big", query: "diary weather zeppelin", method: "keyword" })
          const [top] = result.episodes
          expect(top!.id).toBe(episodeIdOf(`mc-${ZEPPELIN_AT}`, "big"))
          // The excerpt quotes the zeppelin line itself, not the episode's opening line.
          expect(top!.episode).toContain("a zeppelin flew over the diary club")
          expect(result.episodes.every((e) => e.user_id === "big")).toBe(true)
        }))

      it.effect("when the rare word's windows leave the answer short, the common words' newest windows fill it", () =>
        Effect.gen(function*() {
          const result = yield* search({ user_id: "big", query: "zeppelin diary", method: "keyword", top_k: 10 })
          expect(result.episodes).toHaveLength(10)
          expect(result.episodes[0]!.id).toBe(episodeIdOf(`mc-${ZEPPELIN_AT}`, "big"))
          expect(result.episodes.every((e) => e.user_id === "big" && e.episode.toLowerCase().includes("diary"))).toBe(true)
        }))

      it.effect("a query of only common words answers with the newest windows, bounded by top_k", () =>
        Effect.gen(function*() {
          const result = yield* search({ user_id: "big", query: "diary weather", method: "keyword", top_k: 5 })
          expect(result.episodes).toHaveLength(5)
          expect(result.episodes.every((e) => e.user_id === "big" && e.episode.toLowerCase().includes("diary"))).toBe(true)
          const newest = new Set(Array.from({ length: 50 }, (_, k) => episodeIdOf(`mc-${CELLS - 1 - k}`, "big")))
          expect(result.episodes.every((e) => newest.has(e.id))).toBe(true)
        }))
    }
  )
)
