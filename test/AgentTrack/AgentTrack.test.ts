import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Schema } from "effect"
import { vi } from "vitest"
import { GetRequest } from "../../src/Domain/GetRequest.js"
import type { IncomingMessage } from "../../src/Domain/Message.js"
import { SearchRequest } from "../../src/Domain/SearchRequest.js"
import { JobRunner } from "../../src/Workers/JobRunner.js"
import { JobQueue } from "../../src/Jobs/JobQueue.js"
import type { ChatRequest } from "../../src/Llm/LlmClient.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { Forget } from "../../src/Reading/Forget.js"
import { MemoryReader } from "../../src/Reading/MemoryReader.js"
import { Search } from "../../src/Search/Search.js"
import { FakeLlm } from "../support/FakeLlm.js"
import { forEachEngine } from "../support/Engines.js"
import { extractionTestLayer } from "../support/ExtractionTestLayer.js"
import { boundaryAnswer } from "../support/MemoryTestLayer.js"
import { addRequest, keyOf } from "../support/Messages.js"

// Each test builds a database, the tokenizer and the lexicon: seconds on a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 })

const MONDAY = Date.UTC(2024, 4, 6, 18, 0)
const AGENT_ON = { ENGRAM_AGENT_TRACK: "on" }

/** A user asks the agent to fix a build; the agent runs tools; `fixed` says how it ends. */
const buildSession = (session: string, start: number, fixed: boolean): ReadonlyArray<IncomingMessage> => {
  const call = (id: string, cmd: string) => [{ id, type: "function", function: { name: "shell", arguments: JSON.stringify({ cmd }) } }]
  const messages: Array<Omit<IncomingMessage, "timestamp" | "message_id">> = [
    { sender_id: "dev", role: "user", content: "The build of /srv/app is failing, please fix the build." },
    { sender_id: "coder", role: "assistant", content: "", tool_calls: call(`${session}-1`, "npm run build") },
    { sender_id: "shell", role: "tool", tool_call_id: `${session}-1`, content: "Error: Cannot find module 'left-pad' from /srv/app/src/index.js" },
    { sender_id: "coder", role: "assistant", content: "", tool_calls: call(`${session}-2`, "npm install left-pad") },
    {
      sender_id: "shell",
      role: "tool",
      tool_call_id: `${session}-2`,
      content: fixed ? "added 1 package in 2s" : "npm ERR! 403 Forbidden - registry access denied"
    },
    {
      sender_id: "coder",
      role: "assistant",
      content: fixed ? "The build passes now: the left-pad module was missing and is installed." : "I could not fix the build: the registry refused the install."
    }
  ]
  return messages.map((m, i) => ({ ...m, message_id: `${session}-m${i}`, timestamp: start + i * 60_000 }) as IncomingMessage)
}

const smallTalk: ReadonlyArray<IncomingMessage> = [
  { sender_id: "dev", role: "user", content: "hi there", message_id: "talk-0", timestamp: MONDAY + 5 * 86_400_000 },
  { sender_id: "coder", role: "assistant", content: "Hello! How can I help?", message_id: "talk-1", timestamp: MONDAY + 5 * 86_400_000 + 1000 }
]

const drain = Effect.gen(function*() {
  const jobs = yield* JobQueue
  const runner = yield* JobRunner
  for (let i = 0; i < 100; i++) {
    const [job] = yield* jobs.claim("test", yield* Clock.currentTimeMillis, 60_000, 1)
    if (job === undefined) return
    yield* runner.run(job)
  }
})

const remember = (session: string, messages: ReadonlyArray<IncomingMessage>) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    yield* memory.add(addRequest(session, messages))
    yield* memory.flush(keyOf(session))
    yield* drain
  })

const rows = <A extends object>(query: string) => Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<A>(query))

const get = (input: Record<string, unknown>) =>
  Effect.flatMap(Schema.decodeUnknown(GetRequest)(input), (request) => Effect.flatMap(MemoryReader, (reader) => reader.get(request)))

const search = (input: Record<string, unknown>) =>
  Effect.flatMap(Schema.decodeUnknown(SearchRequest)({ method: "keyword", ...input }), (request) =>
    Effect.flatMap(Search, (s) => s.search(request)))

const modelWith = (track: (request: ChatRequest) => string | undefined) => (request: ChatRequest) => {
  switch (request.purpose) {
    case "boundary":
      return boundaryAnswer([])
    case "agent_case":
    case "agent_skill":
      return track(request) ?? "{}"
    case "episode":
      return JSON.stringify({ title: "Build", content: "The build was fixed.", summary: "Build fixed." })
    default:
      return JSON.stringify({ items: [], facts: [] })
  }
}

forEachEngine((engine) => describe("agent track, offline", () => {
  it.effect("a case per tool-using trajectory (commands and errors verbatim), one skill per cluster, served and forgotten", () =>
    Effect.gen(function*() {
      yield* remember("fix-1", buildSession("fix-1", MONDAY, true))
      yield* remember("fix-2", buildSession("fix-2", MONDAY + 86_400_000, false))
      yield* remember("talk", smallTalk)

      const cases = (yield* get({ agent_id: "coder", memory_type: "agent_case" })).agent_cases
      // Small talk is no case; newest first.
      expect(cases.map((c) => c.session_id)).toEqual(["fix-2", "fix-1"])
      const [failed, fixed] = cases
      expect(fixed!.task_intent).toContain("fix the build")
      expect(fixed!.approach.map((s) => s.action).join("\n")).toContain("npm run build")
      expect(fixed!.approach[0]!.result).toContain("Error: Cannot find module 'left-pad'")
      expect(fixed!.outcome).toContain("The build passes now")
      expect(fixed!.quality_score).toBeGreaterThanOrEqual(0.5)
      expect(failed!.quality_score).toBeLessThan(0.5)
      expect(fixed!.message_ids).toEqual(["fix-1-m0", "fix-1-m1", "fix-1-m2", "fix-1-m3", "fix-1-m4", "fix-1-m5"])

      const skills = (yield* get({ agent_id: "coder", memory_type: "agent_skill" })).agent_skills
      expect(skills).toHaveLength(1)
      const skill = skills[0]!
      // Created by the success (0.5), contradicted by the failure (-0.2).
      expect(skill.confidence).toBeCloseTo(0.3)
      expect(skill.source_case_ids.slice().sort()).toEqual([fixed!.id, failed!.id].sort())
      expect(skill.steps.join("\n")).toContain("npm install left-pad")
      expect(skill.pitfalls.join("\n")).toContain("registry")

      const found = yield* search({ agent_id: "coder", query: "build failing left-pad" })
      expect(found.agent_cases.map((c) => c.id).sort()).toEqual([fixed!.id, failed!.id].sort())
      expect(found.agent_cases.every((c) => (c.score ?? 0) > 0)).toBe(true)
      expect(found.agent_skills.map((s) => s.id)).toEqual([skill.id])
      expect((yield* search({ agent_id: "coder", query: "holiday in Lisbon" })).agent_cases).toEqual([])
      expect((yield* search({ user_id: "dev", query: "build" })).agent_cases).toEqual([])

      yield* (yield* Forget).delete({ app_id: "default" as never, project_id: "default" as never, session_id: "fix-1" })
      expect((yield* get({ agent_id: "coder", memory_type: "agent_case" })).agent_cases.map((c) => c.session_id)).toEqual(["fix-2"])
      // The skill rested on the forgotten case: it goes too.
      expect(yield* rows("SELECT * FROM agent_skills")).toEqual([])
      expect(yield* rows("SELECT * FROM agent_skill_cases")).toEqual([])
    }).pipe(Effect.provide(extractionTestLayer({ database: engine.fresh, llm: modelWith(() => undefined), workers: false, env: AGENT_ON }))))

  it.effect("switched off: no agent job and no case", () =>
    Effect.gen(function*() {
      yield* remember("fix-1", buildSession("fix-1", MONDAY, true))
      expect(yield* rows("SELECT * FROM extraction_jobs WHERE kind = 'agent'")).toEqual([])
      expect(yield* rows("SELECT * FROM agent_cases")).toEqual([])
    }).pipe(Effect.provide(extractionTestLayer({ database: engine.fresh, llm: modelWith(() => undefined), workers: false }))))
}))

const caseAnswer = (worth: boolean) =>
  JSON.stringify({
    worth_keeping: worth,
    task_intent: "Fix a failing npm build",
    approach: [{ action: "npm run build", result: "Error: Cannot find module 'left-pad'" }, { action: "npm install left-pad", result: "added 1 package" }],
    key_insight: "A missing module error means a missing dependency",
    outcome: "Build fixed",
    quality_score: 0.9
  })
const skillAnswer = JSON.stringify({
  name: "Fix a missing-module npm build",
  description: "When npm build fails with Cannot find module",
  steps: ["Run npm run build", "Install the missing module with npm install <name>"],
  pitfalls: [],
  verdict: "new"
})

forEachEngine((engine) => describe("agent track with a model", () => {
  it.effect("one compression call per trajectory and one skill call per case; the prompt keeps the error verbatim", () =>
    Effect.gen(function*() {
      yield* remember("fix-1", buildSession("fix-1", MONDAY, true))
      const calls = (yield* (yield* FakeLlm).calls).filter((c) => c.purpose.startsWith("agent_"))
      expect(calls.map((c) => c.purpose)).toEqual(["agent_case", "agent_skill"])
      expect(calls[0]!.messages[1]!.content).toContain("Cannot find module 'left-pad'")
      expect(calls[1]!.messages[1]!.content).toContain("Current skill: none")
      const [kase] = (yield* get({ agent_id: "coder", memory_type: "agent_case" })).agent_cases
      expect(kase).toMatchObject({ task_intent: "Fix a failing npm build", quality_score: 0.9, key_insight: "A missing module error means a missing dependency" })
      const [skill] = (yield* get({ agent_id: "coder", memory_type: "agent_skill" })).agent_skills
      expect(skill).toMatchObject({ name: "Fix a missing-module npm build", confidence: 0.5, source_case_ids: [kase!.id] })
    }).pipe(Effect.provide(extractionTestLayer({
      database: engine.fresh,
      llm: modelWith((r) => (r.purpose === "agent_case" ? caseAnswer(true) : skillAnswer)),
      extractors: "llm",
      workers: false,
      env: AGENT_ON
    }))))

  it.effect("a trajectory the model calls not worth keeping costs one call and leaves no case", () =>
    Effect.gen(function*() {
      yield* remember("fix-1", buildSession("fix-1", MONDAY, true))
      const calls = (yield* (yield* FakeLlm).calls).filter((c) => c.purpose.startsWith("agent_"))
      expect(calls.map((c) => c.purpose)).toEqual(["agent_case"])
      expect(yield* rows("SELECT * FROM agent_cases")).toEqual([])
      expect(yield* rows<{ status: string }>("SELECT status FROM extraction_jobs WHERE kind = 'agent'")).toEqual([{ status: "done" }])
    }).pipe(Effect.provide(extractionTestLayer({
      database: engine.fresh,
      llm: modelWith((r) => (r.purpose === "agent_case" ? caseAnswer(false) : skillAnswer)),
      extractors: "llm",
      workers: false,
      env: AGENT_ON
    }))))
}))
