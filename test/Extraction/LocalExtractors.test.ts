import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { StoredMessage } from "../../src/Domain/Message.js"
import {
  hasPastTenseVerb,
  isFirstPersonPluralStatement,
  isFirstPersonStatement,
  pluralToThirdPerson,
  toThirdPerson,
  withImpliedSubject,
  withoutVocatives
} from "../../src/Extraction/EnglishFirstPerson.js"
import {
  capSummary,
  EpisodeExtractor,
  FactExtractor,
  ForesightExtractor,
  type MemcellInput,
  safeText,
  toolCallsOf,
  userSenders
} from "../../src/Extraction/Extractors.js"
import { LocalExtractors } from "../../src/Extraction/LocalExtractors.js"
import { findFutureMention } from "../../src/Extraction/FutureTime.js"
import { makeZonedCalendar } from "../../src/Text/Calendar.js"
import { Lexicon } from "../../src/Text/Lexicon.js"
import { cellById, multiTopicMemcells } from "../fixtures/multiTopicConversation.js"

const localLayer = (timeZone = "UTC") => LocalExtractors.layerWith({ timeZone }).pipe(Layer.provide(Lexicon.Default))

const episodes = (input: MemcellInput) => Effect.flatMap(EpisodeExtractor, (e) => e.extract(input))
const facts = (input: MemcellInput) => Effect.flatMap(FactExtractor, (e) => e.extract(input))
const foresight = (input: MemcellInput) => Effect.flatMap(ForesightExtractor, (e) => e.extract(input))

const utcDay = (date: string) => Date.parse(`${date}T00:00:00Z`)

/** A cell with a second user, built from fixture rows. */
const twoUserCell = (): MemcellInput => {
  const base = cellById("cell-food")
  const [first, second, ...rest] = base.messages
  const bob: StoredMessage = {
    ...first!,
    message_id: "b01",
    sender_id: "bob",
    sender_name: "Bob",
    content: "My brother is a chef in Porto, I'm visiting him next Friday."
  }
  const messages = [first!, bob, second!, ...rest]
  return { memcell: { ...base.memcell, message_ids: messages.map((m) => m.message_id) }, messages }
}

/** A food-cell message of Alice's (Monday 2024-05-06) saying `content`. */
const said = (message_id: string, content: string): StoredMessage => ({ ...cellById("cell-food").messages[0]!, message_id, content })

/** The food cell holding only `messages`. */
const cellOf = (messages: ReadonlyArray<StoredMessage>): MemcellInput => ({
  memcell: { ...cellById("cell-food").memcell, message_ids: messages.map((m) => m.message_id) },
  messages
})

layer(localLayer())("local extractors on the multi-topic conversation", (it) => {
  it.effect("write one episode per user sender that covers every chat message of the cell", () =>
    Effect.gen(function*() {
      for (const cell of multiTopicMemcells) {
        const drafts = yield* episodes(cell)
        expect(drafts.map((d) => d.sender_id)).toEqual(["alice"])
        const [episode] = drafts
        for (const message of cell.messages) {
          if (message.role === "tool") continue
          const text = safeText(message.content)
          if (text.length > 0) expect(episode!.content).toContain(text)
        }
        expect(episode!.title.length).toBeGreaterThan(0)
        expect(episode!.summary.length).toBeGreaterThan(0)
        expect(episode!.summary.length).toBeLessThanOrEqual(400)
      }
    }))

  it.effect("render the transcript in the third person with dates and brief tool lines", () =>
    Effect.gen(function*() {
      const [episode] = yield* episodes(cellById("cell-lisbon"))
      const content = episode!.content
      expect(content.startsWith(`On 2024-05-06 20:00 UTC, Alice said: "Hi! Next Friday I'm flying to Lisbon for a long weekend."`))
        .toBe(true)
      expect(content).toContain(`The assistant replied: "That sounds lovely! Do you want help planning the trip?"`)
      expect(content).toContain(`The assistant called tool get_weather with {"city":"Lisbon","date":"2024-05-10"}.`)
      expect(content).toContain(`(tool get_weather returned: {"city":"Lisbon","forecast":"sunny"`)
      expect(content).not.toMatch(/\bundefined\b|\[object Object\]/)
      expect(episode!.title).toMatch(/Lisbon|Alfama/)
      expect(episode!.summary).toMatch(/^On 2024-05-06, Alice talked about /)
      expect(episode!.summary).toContain("Next Friday Alice is flying to Lisbon for a long weekend.")
    }))

  it.effect("write one episode per user and none for the assistant in a shared cell", () =>
    Effect.gen(function*() {
      const cell = twoUserCell()
      const drafts = yield* episodes(cell)
      expect(drafts.map((d) => d.sender_id)).toEqual(["alice", "bob"])
      expect(drafts[1]!.summary).toContain("Bob")
      expect(drafts[0]!.content).toContain(`Bob said: "My brother is a chef in Porto`)

      const assistantOnly: MemcellInput = { ...cell, messages: cell.messages.filter((m) => m.role === "assistant") }
      expect(yield* episodes(assistantOnly)).toEqual([])
      expect(yield* facts(assistantOnly)).toEqual([])
      expect(yield* foresight(assistantOnly)).toEqual([])
    }))

  it.effect("keep a summary of a long cell within 400 characters, cut at a sentence", () =>
    Effect.gen(function*() {
      const base = cellById("cell-family-work")
      const sentence = "I spent the whole afternoon repairing the old bicycle that my grandfather left in the garage."
      const long = base.messages.map((m, i) => m.role === "user" ? { ...m, content: `${sentence} ${sentence} Part ${i}.` } : m)
      const [episode] = yield* episodes({ ...base, messages: long })
      expect(episode!.summary.length).toBeLessThanOrEqual(400)
      expect(episode!.summary).toMatch(/\.$/)
    }))

  it.effect("state facts in the third person and keep their source message ids", () =>
    Effect.gen(function*() {
      const all = (yield* Effect.forEach(multiTopicMemcells, facts)).flat()
      const byContent = new Map(all.map((f) => [f.content, f.message_ids]))
      expect(byContent.get("Alice is allergic to peanuts, so Alice needs to be careful with desserts.")).toEqual(["m14"])
      expect(byContent.get("Alice has been vegetarian since 2019.")).toEqual(["m16"])
      expect(byContent.get("Alice's sister is a nurse and she works night shifts at a hospital in Hamburg.")).toEqual(["m21"])
      expect(byContent.get("Alice moved to Berlin last year, so Alice only sees her once a month.")).toEqual(["m23"])
      expect(byContent.get("Alice works as a data engineer at a logistics startup.")).toEqual(["m25"])

      const userIds = new Set(multiTopicMemcells.flatMap((c) => c.messages.filter((m) => m.role === "user").map((m) => m.message_id)))
      for (const fact of all) {
        expect(fact.sender_id).toBe("alice")
        expect(fact.message_ids.length).toBeGreaterThan(0)
        for (const id of fact.message_ids) expect(userIds.has(id)).toBe(true)
        // No first person left, no questions, no greetings.
        expect(fact.content).not.toMatch(/\b(?:I|I'm|I've|my|me)\b/)
        expect(fact.content).not.toMatch(/\?$/)
        expect(fact.content).not.toMatch(/^(?:Hi|Thanks|Good morning)/)
      }
      // Plans are foresight, not facts.
      expect(all.some((f) => f.content.includes("Lisbon for a long weekend"))).toBe(false)
    }))

  it.effect("resolve 'next Friday' said on Monday 2024-05-06 to Friday 2024-05-10", () =>
    Effect.gen(function*() {
      const items = yield* foresight(cellById("cell-lisbon"))
      const flight = items.find((i) => i.message_ids.includes("m01"))
      expect(flight).toEqual({
        sender_id: "alice",
        content: "Next Friday (2024-05-10) Alice is flying to Lisbon for a long weekend.",
        start_time: utcDay("2024-05-10"),
        end_time: null,
        evidence: "Next Friday I'm flying to Lisbon for a long weekend.",
        message_ids: ["m01"]
      })
      const booking = items.find((i) => i.message_ids.includes("m11"))
      expect(booking?.start_time).toBe(utcDay("2024-05-07"))
      expect(booking?.content).toBe("Alice will book the fado table tomorrow (2024-05-07).")
    }))

  it.effect("resolve relative and absolute dates, and leave questions and the past out", () =>
    Effect.gen(function*() {
      const items = yield* foresight(cellById("cell-family-work"))
      const starts = new Map(items.map((i) => [i.message_ids[0], i.start_time]))
      expect(starts.get("m27")).toBe(utcDay("2024-05-22")) // "in two weeks" from 2024-05-08
      expect(starts.get("m29")).toBe(utcDay("2024-06-03")) // "On June 3rd"
      expect(starts.has("m23")).toBe(false) // "moved to Berlin last year", "once a month"
      expect(items.every((i) => i.sender_id === "alice")).toBe(true)

      const packing = yield* foresight(cellById("cell-packing"))
      const passport = packing.find((i) => i.message_ids.includes("m36"))
      expect(passport?.start_time).toBe(utcDay("2024-08-01"))
      expect(passport?.end_time).toBe(utcDay("2024-09-01") - 1) // "in August": the whole month
    }))

  it.effect("keep what happened on a past day as a fact, and statements beside a hedge or shown with 'here's'", () =>
    Effect.gen(function*() {
      // Said on Monday 2024-05-06: chrono reads "last Friday" and a bare "Friday" forward, as 2024-05-10.
      const messages = [
        said("p1", "Hey! Last Friday I went to a council meeting about adoption."),
        said("p2", "I won my fourth chess tournament on Friday!"),
        said("p3", "I'm keen on counseling or working in mental health - I'd love to support people like me."),
        said("p4", "Here's a photo of my horse painting I did recently."),
        said("p5", "Next Friday I'm flying to Lisbon for a long weekend."),
        said("p6", "We always look forward to our family camping trip. We can do it!"),
        said("p7", "Hey Bob, my favorite treat is a chocolate raspberry tart. Thanks, Bob!"),
        said("p8", "I baked a lemon cake yesterday, maybe you would like it!"),
        said("p9", "Just got back from a road trip with my sister. Been a busy week.")
      ]
      const cell = cellOf(messages)
      const byId = new Map((yield* facts(cell)).map((f) => [f.message_ids.join(), f.content]))
      expect(byId.get("p1")).toBe("Last Friday Alice went to a council meeting about adoption.")
      expect(byId.get("p2")).toBe("Alice won Alice's fourth chess tournament on Friday.")
      expect(byId.get("p3")).toBe("Alice is keen on counseling or working in mental health.")
      expect(byId.get("p4")).toBe("Alice shared a photo of Alice's horse painting Alice did recently.")
      // "We": the speaker and others, whoever they are; a sentence naming nothing stays out.
      expect(byId.get("p6")).toBe("Alice and others always look forward to their family camping trip.")
      // A greeting leading into a statement does not hide it, and is not part of the fact.
      expect(byId.get("p7")).toBe("Alice's favorite treat is a chocolate raspberry tart.")
      // A clause with a subject stands on its own; chat's left-out "I" is restored.
      expect(byId.get("p8")).toBe("Alice baked a lemon cake yesterday.")
      expect(byId.get("p9")).toBe("Alice just got back from a road trip with Alice's sister.")
      // A plan stays foresight.
      expect(byId.has("p5")).toBe(false)
      const plans = yield* foresight(cell)
      expect(plans.map((p) => p.message_ids.join())).toEqual(["p5"])
    }))

  it.effect("keep statements led by an -ing verb, drop the names they address and mere agreement", () =>
    Effect.gen(function*() {
      const messages = [
        said("g1", "Researching adoption agencies \u2014 it's been a dream to have a family."),
        said("g2", "Taking care of ourselves is vital."),
        said("g3", "Growing up, I saw how my town changed."),
        said("v1", "Bob, they're some of my fave memories."),
        said("v2", "I have had some tough times with my bakery, Bob."),
        said("v3", "I totally agree, Bob."),
        said("v4", "I drew it for my mom's birthday."),
        said("c1", "I went to the beach on Sunday; we swam for hours, all of us.")
      ]
      // Bob is addressed by name, so he must be a speaker of the cell.
      const bob = { ...said("b1", "Lovely!"), sender_id: "bob", sender_name: "Bob" }
      const drafts = yield* facts(cellOf([...messages, bob]))
      const byId = new Map(drafts.map((f) => [f.message_ids.join(), f.content]))
      // One claim per fact: each clause with a subject of its own, with the clauses it leads.
      expect(drafts.filter((f) => f.message_ids.join() === "c1").map((f) => f.content)).toEqual([
        "Alice went to the beach on Sunday.",
        "Alice and others swam for hours, all of them."
      ])
      // The clause with its own subject that is no statement of hers stays out.
      expect(byId.get("g1")).toBe("Alice is researching adoption agencies.")
      // An -ing phrase that is the subject, or an adjunct before a clause with its own subject.
      expect(byId.has("g2")).toBe(false)
      expect(byId.get("g3")).toBe("Growing up, Alice saw how Alice's town changed.")
      expect(byId.get("v1")).toBe("They're some of Alice's fave memories.")
      expect(byId.get("v2")).toBe("Alice has had some tough times with Alice's bakery.")
      expect(byId.has("v3")).toBe(false)
      // An irregular past takes no "-s".
      expect(byId.get("v4")).toBe("Alice drew it for Alice's mom's birthday.")
    }))

  it.effect("survive tool items without text, odd tool calls and missing fields", () =>
    Effect.gen(function*() {
      const base = cellById("cell-packing")
      const odd = [
        { ...base.messages[0]!, message_id: "x1", content: [{ type: "image_url" }] },
        { ...base.messages[1]!, message_id: "x2", content: [], tool_calls: [null, "call", { function: null }, { id: 7 }] },
        { ...base.messages[2]!, message_id: "x3", content: undefined, tool_call_id: undefined, sender_name: undefined },
        { ...base.messages[3]!, message_id: "x4", content: [{ type: "text", text: 42 }, {}] }
      ] as unknown as ReadonlyArray<StoredMessage>
      const input: MemcellInput = { ...base, messages: [...base.messages, ...odd] }
      const [episode] = yield* episodes(input)
      expect(episode!.content).toContain("(tool packing_list returned no text)")
      expect(episode!.content).toContain("Alice attached image_url.")
      expect(episode!.content).toContain("The assistant called a tool.")
      expect(yield* facts(input)).toBeDefined()
      expect(yield* foresight(input)).toBeDefined()
    }))
})

layer(localLayer("Europe/Berlin"))("local foresight in another time zone", (it) => {
  it.effect("starts a date-only plan at midnight in the configured zone", () =>
    Effect.gen(function*() {
      const items = yield* foresight(cellById("cell-lisbon"))
      const flight = items.find((i) => i.message_ids.includes("m01"))
      expect(flight?.start_time).toBe(Date.parse("2024-05-09T22:00:00Z"))
      const [episode] = yield* episodes(cellById("cell-lisbon"))
      expect(episode!.content.startsWith("On 2024-05-06 22:00 UTC+02:00, Alice said:")).toBe(true)
    }))
})

describe("capSummary", () => {
  it("keeps short text and collapses whitespace", () => {
    expect(capSummary("  Alice  flew\nhome. ", 400)).toBe("Alice flew home.")
  })

  it("cuts at the last sentence that fits", () => {
    const sentence = "Alice planned a long weekend in Lisbon with her friend Marta and a fado evening."
    const text = Array.from({ length: 8 }, () => sentence).join(" ")
    const capped = capSummary(text, 400)
    expect(capped.length).toBeLessThanOrEqual(400)
    expect(capped.endsWith("evening.")).toBe(true)
    expect(text.startsWith(capped)).toBe(true)
  })

  it("falls back to a word boundary with an ellipsis, then to a hard cut", () => {
    const words = Array.from({ length: 200 }, (_, i) => `word${i}`).join(" ")
    const capped = capSummary(words, 400)
    expect(capped.length).toBeLessThanOrEqual(400)
    expect(capped.endsWith("…")).toBe(true)
    expect(words.startsWith(capped.slice(0, -1))).toBe(true)
    expect(capped.slice(0, -1)).toMatch(/word\d+$/)

    const oneWord = "x".repeat(1000)
    expect(capSummary(oneWord, 400)).toHaveLength(400)
    expect(capSummary("😀".repeat(300), 400).length).toBeLessThanOrEqual(400)
  })

  it("never fails on odd limits", () => {
    expect(capSummary("Some text here.", 0)).toBe("")
    expect(capSummary("Some text here.", 1)).toBe("…")
    expect(capSummary("", 400)).toBe("")
  })
})

describe("helpers", () => {
  it("lists user senders once, in first-seen order", () => {
    expect(userSenders(twoUserCell())).toEqual(["alice", "bob"])
  })

  it("reads text and tool calls of any shape", () => {
    expect(safeText("plain")).toBe("plain")
    expect(safeText([{ type: "text", text: "a" }, { type: "image_url" }, null, { text: "b" }])).toBe("a\nb")
    expect(safeText(undefined)).toBe("")
    expect(toolCallsOf({ tool_calls: null })).toEqual([])
    expect(toolCallsOf({ tool_calls: [{ id: "c1", function: { name: "f", arguments: { a: 1 } } }, { name: "g" }] }))
      .toEqual([{ id: "c1", name: "f", arguments: "{\"a\":1}" }, { id: undefined, name: "g", arguments: "" }])
  })

  it("reads past days as the past, and lower-case weekday abbreviations as words", () => {
    const calendar = makeZonedCalendar("UTC")
    const monday = Date.parse("2024-05-06T09:00:00Z")
    const future = (sentence: string) => findFutureMention(sentence, monday, calendar)?.start
    expect(future("Last Friday I went to a council meeting.")).toBeUndefined()
    expect(future("I passed the interviews last Friday!")).toBeUndefined()
    expect(future("Last weekend I joined a mentorship program.")).toBeUndefined()
    expect(future("I moved here two weeks ago.")).toBeUndefined()
    expect(future("I won my fourth tournament on Friday!")).toBeUndefined()
    expect(future("My partner and I tried snowshoeing this weekend.")).toBeUndefined()
    expect(future("So I sat with her and we talked.")).toBeUndefined()
    expect(future("I love seeing them soaking in the sun.")).toBeUndefined()
    // Plans keep their dates, past tense or not.
    expect(future("I'm hiking with some buddies this weekend.")).toBe(utcDay("2024-05-11"))
    expect(future("I booked a table for next Friday.")).toBe(utcDay("2024-05-10"))
    expect(future("I'm flying on Friday.")).toBe(utcDay("2024-05-10"))
    expect(hasPastTenseVerb("We finally tried it")).toBe(true)
    expect(withImpliedSubject("Oh, just finished my first screenplay!")).toBe("I just finished my first screenplay!")
    expect(withImpliedSubject("Been rehearsing hard")).toBe("I've been rehearsing hard")
    expect(withImpliedSubject("Been a busy week")).toBeUndefined()
    expect(withImpliedSubject("Excited for the trip!")).toBeUndefined()
    expect(withImpliedSubject("Got your back")).toBeUndefined()
    expect(withImpliedSubject("[shared a photo: a photo of a lake]")).toBeUndefined()
    expect(withImpliedSubject("Trying to get a petition going, it's pretty rewarding")).toBe("I'm trying to get a petition going, it's pretty rewarding")
    expect(withImpliedSubject("Doing research and readying myself makes sense")).toBeUndefined()
    expect(withImpliedSubject("Seeing the smiles on their faces, we knew")).toBeUndefined()
    expect(withImpliedSubject("Exciting but kinda nerve-wracking")).toBeUndefined()
    expect(withImpliedSubject("During the trip we hiked a lot")).toBeUndefined()
    expect(withoutVocatives("Mel, I 100% get it.", ["Caroline", "Melanie"])).toBe("I 100% get it.")
    expect(withoutVocatives("I went with my brother, Jon.", ["Caroline", "Melanie"])).toBe("I went with my brother, Jon.")
    expect(withoutVocatives("I went with Caroline, Mel!", ["Caroline", "Melanie"])).toBe("I went with Caroline!")
    expect(hasPastTenseVerb("I need a break")).toBe(false)
    expect(isFirstPersonStatement("Here is the menu")).toBe(false)
    expect(isFirstPersonStatement("Here's my resume, could you check it")).toBe(false)
  })

  it("restates 'we' statements about the speaker and others", () => {
    expect(pluralToThirdPerson("We've been to Rome twice with our kids", "Alice")).toBe("Alice and others have been to Rome twice with their kids.")
    expect(pluralToThirdPerson("Oh, we're moving to a place near us", "Alice")).toBe("Alice and others are moving to a place near them.")
    expect(pluralToThirdPerson("We'd finished it before noon", "Alice")).toBe("Alice and others had finished it before noon.")
    expect(isFirstPersonPluralStatement("We explored the coast last summer")).toBe(true)
    // Singular first person goes the singular way; questions, requests and "let's" are no statements.
    expect(isFirstPersonPluralStatement("My wife and I think we should go")).toBe(false)
    expect(isFirstPersonPluralStatement("Should we meet at the station?")).toBe(false)
    expect(isFirstPersonPluralStatement("We should totally catch up with you soon")).toBe(false)
    expect(isFirstPersonPluralStatement("Let's say we meet at noon")).toBe(false)
  })

  it("restates first-person sentences in the third person", () => {
    expect(toThirdPerson("I moved to Berlin last year", "Alice")).toBe("Alice moved to Berlin last year.")
    expect(toThirdPerson("My sister is a nurse!", "Alice")).toBe("Alice's sister is a nurse.")
    expect(toThirdPerson("I'm allergic to peanuts", "Alice")).toBe("Alice is allergic to peanuts.")
    expect(toThirdPerson("Oh, I really love hiking with my dog", "Alice")).toBe("Alice really loves hiking with Alice's dog.")
    expect(toThirdPerson("Marta and I are old friends", "Alice")).toBe("Marta and Alice are old friends.")
    expect(toThirdPerson("I don't eat meat", "Alice")).toBe("Alice doesn't eat meat.")
    expect(toThirdPerson("I’ve lived here since 2020", "Alice")).toBe("Alice has lived here since 2020.")
    expect(toThirdPerson("I study law and my brother watches me", "Alice")).toBe("Alice studies law and Alice's brother watches Alice.")
  })
})
