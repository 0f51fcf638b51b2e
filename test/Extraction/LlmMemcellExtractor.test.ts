import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { StoredMessage } from "../../src/Domain/Message.js"
import { MemcellExtractor, type MemcellInput } from "../../src/Extraction/Extractors.js"
import { LlmMemcellExtractor } from "../../src/Extraction/LlmMemcellExtractor.js"
import { FakeLlm, type FakeLlmHandler, fakeLlmLayer } from "../support/FakeLlm.js"
import { MEMCELL_EXTRACTION_SYSTEM_PROMPT } from "../../src/Llm/Prompts.js"
import { cellById } from "../fixtures/multiTopicConversation.js"

const extractorWith = (handler: FakeLlmHandler) =>
  LlmMemcellExtractor.layerWith({ timeZone: "UTC" }).pipe(Layer.provideMerge(fakeLlmLayer(handler)))

const extract = (input: MemcellInput) => Effect.flatMap(MemcellExtractor, (e) => e.extract(input))
const calls = Effect.flatMap(FakeLlm, (fake) => fake.calls)

const lisbon = cellById("cell-lisbon")

/** The Lisbon cell plus a second user. */
const twoUserCell = (): MemcellInput => {
  const bob: StoredMessage = {
    ...lisbon.messages[0]!,
    seq: 99,
    message_id: "bob-1",
    timestamp: lisbon.messages.at(-1)!.timestamp + 60_000,
    sender_id: "bob",
    sender_name: "Bob",
    content: "I'm joining Alice in Lisbon on Saturday."
  }
  const messages = [...lisbon.messages, bob]
  return { memcell: { ...lisbon.memcell, message_ids: messages.map((m) => m.message_id) }, messages }
}

const episode = (user: string) => ({ user, title: `${user}'s Lisbon trip`, content: `${user} talked about Lisbon.`, summary: "Lisbon." })

const combinedAnswer = JSON.stringify({
  episodes: [episode("alice"), episode("bob")],
  facts: [
    { content: "Alice's grandmother used to sing fado.", lines: [9] },
    { content: "Bob joins Alice in Lisbon.", lines: [12] },
    { content: "Nobody said this.", lines: [99] }
  ],
  foresight: [
    { user: "alice", content: "Alice flies to Lisbon on 2024-05-10.", start: "2024-05-10", end: "2024-05-13", evidence: "Next Friday", lines: [1] },
    { user: "bob", content: "Bob arrives in Lisbon on 2024-05-11.", start: "2024-05-11", end: null, evidence: "on Saturday", lines: [12] },
    { user: "carol", content: "Not a user of the cell.", start: "2024-05-11", end: null, evidence: "", lines: [1] }
  ]
})

describe("LlmMemcellExtractor", () => {
  it.effect("one call gives every user's episode and foresight and the facts, with sources resolved", () =>
    Effect.gen(function*() {
      const drafts = yield* extract(twoUserCell())
      const asked = yield* calls
      expect(asked.length).toBe(1)
      expect(asked[0]!.purpose).toBe("extraction")
      expect(asked[0]!.messages[0]).toEqual({ role: "system", content: MEMCELL_EXTRACTION_SYSTEM_PROMPT })
      const user = asked[0]!.messages[1]!.content
      expect(user.startsWith("Users: alice (Alice); bob (Bob)\nOthers: assistant, assistant; weather, tool\nTimes in UTC.\n[1] 2024-05-06 20:00 Alice: Hi!")).toBe(true)

      expect(drafts.episodes.map((e) => [e.sender_id, e.title])).toEqual([["alice", "alice's Lisbon trip"], ["bob", "bob's Lisbon trip"]])
      // Attributed to the author of the source; a fact without a valid source is dropped.
      expect(drafts.facts.map((f) => [f.sender_id, f.content, f.message_ids])).toEqual([
        ["alice", "Alice's grandmother used to sing fado.", ["m09"]],
        ["bob", "Bob joins Alice in Lisbon.", ["bob-1"]]
      ])
      expect(drafts.foresight.map((f) => [f.sender_id, new Date(f.start_time).toISOString(), f.end_time === null ? null : new Date(f.end_time).toISOString()])).toEqual([
        ["alice", "2024-05-10T00:00:00.000Z", "2024-05-13T23:59:59.999Z"],
        ["bob", "2024-05-11T00:00:00.000Z", null]
      ])
    }).pipe(Effect.provide(extractorWith(() => combinedAnswer))))

  it.effect("an answer missing a user's episode is asked again", () =>
    Effect.gen(function*() {
      const drafts = yield* extract(twoUserCell())
      expect((yield* calls).length).toBe(2)
      expect(drafts.episodes.map((e) => e.sender_id)).toEqual(["alice", "bob"])
    }).pipe(Effect.provide(extractorWith((_request, call) =>
      call === 0 ? JSON.stringify({ episodes: [episode("alice")], facts: [], foresight: [] }) : combinedAnswer
    ))))

  it.effect("a model that cannot answer the combined contract is asked per kind", () =>
    Effect.gen(function*() {
      const drafts = yield* extract(lisbon)
      const purposes = (yield* calls).map((c) => c.purpose)
      expect(purposes).toEqual(["extraction", "extraction", "extraction", "episode", "fact", "foresight"])
      expect(drafts.episodes.map((e) => e.title)).toEqual(["Per kind"])
      expect(drafts.facts.map((f) => f.content)).toEqual(["Alice loves fado."])
      expect(drafts.foresight).toEqual([])
    }).pipe(Effect.provide(extractorWith((request) => {
      switch (request.purpose) {
        case "extraction":
          return "I cannot do all of that at once."
        case "episode":
          return JSON.stringify({ title: "Per kind", content: "Alice plans Lisbon.", summary: "Lisbon." })
        case "fact":
          return JSON.stringify({ facts: [{ content: "Alice loves fado.", message_numbers: [9] }] })
        default:
          return JSON.stringify({ items: [] })
      }
    }))))

  it.effect("a cell without a user message costs no call", () =>
    Effect.gen(function*() {
      const assistantOnly: MemcellInput = { ...lisbon, messages: lisbon.messages.filter((m) => m.role !== "user") }
      expect(yield* extract(assistantOnly)).toEqual({ episodes: [], facts: [], foresight: [] })
      expect((yield* calls).length).toBe(0)
    }).pipe(Effect.provide(extractorWith(() => combinedAnswer))))
})
