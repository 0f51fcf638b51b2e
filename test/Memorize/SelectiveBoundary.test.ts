import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { LlmUnavailable } from "../../src/Domain/Errors.js"
import { type IncomingMessage, messageText } from "../../src/Domain/Message.js"
import { FakeLlm, type FakeLlmHandler } from "../support/FakeLlm.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { CONTEXT_TURNS } from "../../src/Memorize/SelectiveBoundaryDetector.js"
import * as Database from "../../src/Storage/Database.js"
import { multiTopicMemcells } from "../fixtures/multiTopicConversation.js"
import { memoryTestLayer, textServices } from "../support/MemoryTestLayer.js"
import { addRequest, keyOf } from "../support/Messages.js"
import { topicBoundaryAnswer, topicOracle } from "../support/TopicOracle.js"
import { vi } from "vitest"

// Each test builds a database, the tokenizer and the lexicon and ingests a conversation: seconds on a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 })

/**
 * The selective strategy against asking on every add, with a content-driven model: it knows the
 * topic of every message of the fixture (its memcell there) and cuts exactly where the topic
 * changes, in whatever window it is shown. The four topics are moved onto one day, a minute apart,
 * so no calendar cut helps: every boundary has to come from the model.
 */

const DAY = Date.parse("2024-05-06T09:00:00Z")

const conversation: ReadonlyArray<IncomingMessage & { readonly topic: string }> = multiTopicMemcells.flatMap((cell) =>
  cell.messages.map((m) => ({
    message_id: m.message_id,
    sender_id: m.sender_id,
    ...(m.sender_name === null ? {} : { sender_name: m.sender_name }),
    role: m.role,
    content: m.content,
    ...(m.tool_calls === null ? {} : { tool_calls: m.tool_calls }),
    ...(m.tool_call_id === null ? {} : { tool_call_id: m.tool_call_id }),
    topic: cell.memcell.memcell_id
  }))
).map((m, i) => ({ ...m, timestamp: DAY + i * 60_000 }))

const isChat = (m: IncomingMessage) => (m.role === "user" || m.role === "assistant") && (m.tool_calls === undefined || m.tool_calls.length === 0)
const chat = conversation.filter(isChat)
const oracle = topicOracle(chat)
const endsTopic = (index: number) => index + 1 < chat.length && chat[index]!.topic !== chat[index + 1]!.topic

const model: FakeLlmHandler = (request) => topicBoundaryAnswer(request.messages[1]!.content, oracle, endsTopic)

const withoutTopic = ({ topic: _topic, ...message }: (typeof conversation)[number]): IncomingMessage => message

/** Adds the conversation (one message per add, or all at once), flushes, returns the memcells and the prompts. */
const ingest = (mode: "turn-by-turn" | "batched", session = "s") =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const batches = mode === "batched" ? [conversation.map(withoutTopic)] : conversation.map((m) => [withoutTopic(m)])
    for (const batch of batches) yield* memory.add(addRequest(session, batch))
    yield* memory.flush(keyOf(session))
    const cells = (yield* memory.session(keyOf(session))).memcells.map((c) => c.message_ids)
    const prompts = (yield* Effect.flatMap(FakeLlm, (fake) => fake.calls)).map((call) => call.messages[1]!.content)
    return { cells, prompts }
  })

const expected = multiTopicMemcells.map((cell) => cell.messages.map((m) => m.message_id))
const promptChars = (prompts: ReadonlyArray<string>) => prompts.reduce((sum, p) => sum + p.length, 0)
const everyAdd = { ENGRAM_BOUNDARY_STRATEGY: "every_add" }

layer(textServices)("the selective boundary strategy", (it) => {
  for (const mode of ["turn-by-turn", "batched"] as const) {
    it.effect(`finds the same memcells as asking on every add (${mode}), for fewer prompt characters`, () =>
      Effect.gen(function*() {
        const selective = yield* ingest(mode).pipe(Effect.provide(memoryTestLayer({ llm: model })))
        const asked = yield* ingest(mode).pipe(Effect.provide(memoryTestLayer({ llm: model, env: everyAdd })))
        expect(asked.cells).toEqual(expected)
        expect(selective.cells).toEqual(expected)
        expect(selective.prompts.length).toBeLessThanOrEqual(asked.prompts.length)
        if (mode === "turn-by-turn") expect(promptChars(selective.prompts)).toBeLessThan(promptChars(asked.prompts) / 2)
      }))
  }

  it.effect("the same memcells whatever the unseen-text threshold", () =>
    Effect.gen(function*() {
      for (const tokens of ["1", "40", "100000"]) {
        const { cells } = yield* ingest("turn-by-turn").pipe(
          Effect.provide(memoryTestLayer({ llm: model, env: { ENGRAM_BOUNDARY_ASK_TOKENS: tokens } }))
        )
        expect(cells).toEqual(expected)
      }
    }))

  it.effect("every chat message is shown to the model before its memcell is committed", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const fake = yield* FakeLlm
      const shown = new Set<string>()
      for (const message of conversation) {
        yield* memory.add(addRequest("s", [withoutTopic(message)]))
        for (const call of yield* fake.calls) for (const index of oracle.indexesOf(call.messages[1]!.content)) shown.add(chat[index!]!.message_id!)
        // Whatever is in a memcell now was shown before (the commit follows the question).
        for (const cell of (yield* memory.session(keyOf("s"))).memcells) {
          for (const id of cell.message_ids) {
            const message = conversation.find((m) => m.message_id === id)!
            if (isChat(message)) expect(shown.has(id)).toBe(true)
          }
        }
      }
    }).pipe(Effect.provide(memoryTestLayer({ llm: model, env: { ENGRAM_BOUNDARY_ASK_TOKENS: "100000" } }))))

  it.effect("never asks about the same unchanged buffer twice, and shows at most CONTEXT_TURNS judged turns before the new ones", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const fake = yield* FakeLlm
      // Asking about every new message: the window is the judged context plus the one new turn.
      for (const message of conversation) yield* memory.add(addRequest("s", [withoutTopic(message)]))
      const prompts = (yield* fake.calls).map((call) => call.messages[1]!.content)
      expect(new Set(prompts).size).toBe(prompts.length)
      for (const prompt of prompts) expect(oracle.indexesOf(prompt).length).toBeLessThanOrEqual(CONTEXT_TURNS + 1)
      // Everything buffered was judged: a flush commits it without another question, and a second flush asks nothing.
      yield* memory.flush(keyOf("s"))
      yield* memory.flush(keyOf("s"))
      expect((yield* fake.calls).length).toBe(prompts.length)
      expect((yield* memory.session(keyOf("s"))).memcells.map((c) => c.message_ids)).toEqual(expected)
    }).pipe(Effect.provide(memoryTestLayer({ llm: model, env: { ENGRAM_BOUNDARY_ASK_TOKENS: "1" } }))))

  it.effect("what the model saw survives a restart: the new process asks only about new messages", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-selective-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const file = Path.join(dir, "engram.db")
      const process = () =>
        memoryTestLayer({ llm: model, database: Database.layerFile(file), env: { ENGRAM_BOUNDARY_ASK_TOKENS: "1" } })
      const half = conversation.slice(0, 6)
      const firstPrompts = yield* Effect.gen(function*() {
        const memory = yield* Memory
        for (const message of half) yield* memory.add(addRequest("s", [withoutTopic(message)]))
        return (yield* Effect.flatMap(FakeLlm, (fake) => fake.calls)).length
      }).pipe(Effect.provide(process()))
      expect(firstPrompts).toBeGreaterThan(0)

      const next = conversation[6]!
      const second = yield* Effect.gen(function*() {
        const memory = yield* Memory
        // Nothing new: a restarted process has nothing to ask about.
        yield* memory.add(addRequest("s", half.map(withoutTopic)))
        const beforeNew = (yield* Effect.flatMap(FakeLlm, (fake) => fake.calls)).length
        yield* memory.add(addRequest("s", [withoutTopic(next)]))
        const calls = yield* Effect.flatMap(FakeLlm, (fake) => fake.calls)
        return { beforeNew, prompts: calls.map((c) => c.messages[1]!.content) }
      }).pipe(Effect.provide(process()))
      expect(second.beforeNew).toBe(0)
      expect(second.prompts.length).toBe(1)
      expect(second.prompts[0]).toContain(messageText(next.content))
      expect(oracle.indexesOf(second.prompts[0]!).length).toBeLessThanOrEqual(CONTEXT_TURNS + 1)
    }).pipe(Effect.scoped))
})

describe("selective strategy and model failures", () => {
  layer(textServices)("model failures", (it) => {
    it.effect("a failed question marks nothing: the next add asks again about the same messages", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const fake = yield* FakeLlm
        const [a, b, c] = conversation.filter(isChat).slice(0, 3).map(withoutTopic)
        expect((yield* Effect.flip(memory.add(addRequest("s", [a!, b!]))))._tag).toBe("LlmUnavailable")
        yield* memory.add(addRequest("s", [c!]))
        const prompts = (yield* fake.calls).map((call) => call.messages[1]!.content)
        expect(prompts.length).toBe(2)
        // The second question still shows the first two messages: they were never judged.
        expect(oracle.indexesOf(prompts[1]!)).toEqual([0, 1, 2])
      }).pipe(Effect.provide(memoryTestLayer({
        llm: (request, call) =>
          call === 0
            ? Effect.fail(new LlmUnavailable({ reason: "down", retryable: true }))
            : topicBoundaryAnswer(request.messages[1]!.content, oracle, endsTopic),
        env: { ENGRAM_BOUNDARY_ASK_TOKENS: "1" }
      }))))
  })
})
