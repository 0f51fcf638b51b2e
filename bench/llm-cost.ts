/**
 * What a remembered message costs in LLM tokens: one LoCoMo conversation ingested through the
 * production wiring (real OpenAI-compatible client, HTTP to an instant fake model that records
 * every request), old strategy (boundary question on every add, one extraction call per kind and
 * user) against the default one, turn by turn (one message per add) and batched (one add per
 * LoCoMo session); a flush with wait after each session.
 *
 * The fake is content-driven: it knows each turn's place in the conversation and closes a topic
 * after every 12th turn, whatever window it is shown, so both strategies can be compared on the
 * memcells they produce as well as on what they cost.
 *
 * Prompt characters and tokens (cl100k) count the `content` of every message sent, system
 * prompts included (not the few template tokens a provider adds per message); completion tokens
 * are the cl100k tokens of the fake's answers.
 *
 * Run: npx tsx bench/llm-cost.ts /work/shared/data/locomo10.json [conversation index=0]
 */
import { Effect, Layer } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { makeEngram } from "../src/Engram.js"
import { scopeOf, sessionIdOf, sessionMessages } from "../src/Eval/EngramIngest.js"
import { loadLocomo, type LocomoConversation } from "../src/Eval/LocomoData.js"
import { Memory } from "../src/Memorize/Memory.js"
import * as Database from "../src/Storage/Database.js"
import { TokenCounter } from "../src/Text/TokenCounter.js"
import { FakeReply, makeFakeLlmServer, type RecordedRequest } from "../test/support/FakeLlmServer.js"
import { configLayer } from "../test/support/MemoryTestLayer.js"
import { contentDrivenAnswer, type TopicOracle, topicOracle } from "../test/support/TopicOracle.js"

const dataPath = process.argv[2]
const conversationIndex = Number(process.argv[3] ?? 0)
if (dataPath === undefined) {
  console.error("usage: npx tsx bench/llm-cost.ts PATH/locomo10.json [conversation index]")
  process.exit(2)
}

/** The fake closes a topic after every this many turns of the conversation. */
const TOPIC_LENGTH = 12

interface Strategy {
  readonly name: string
  readonly env: Record<string, string>
}

const STRATEGIES: ReadonlyArray<Strategy> = [
  { name: "EverOS way (every add, per-kind extraction; current prompts)", env: { ENGRAM_BOUNDARY_STRATEGY: "every_add", ENGRAM_EXTRACTION_CALLS: "per_kind" } },
  { name: "new (defaults)", env: {} }
]

type Ingestion = "turn-by-turn" | "batched"

interface PurposeCost {
  calls: number
  promptChars: number
  promptTokens: number
  completionTokens: number
}

const run = (conversation: LocomoConversation, oracle: TopicOracle, strategy: Strategy, ingestion: Ingestion, tokens: TokenCounter) =>
  Effect.scoped(Effect.gen(function*() {
    const answers = new Map<RecordedRequest, string>()
    const llm = yield* makeFakeLlmServer({
      handler: (request) => {
        const answer = contentDrivenAnswer(request.body, oracle, TOPIC_LENGTH)
        answers.set(request, answer)
        return FakeReply.answer(answer)
      }
    })
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-llm-cost-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
    const env = {
      ENGRAM_LLM_BASE_URL: llm.baseUrl,
      ENGRAM_LLM_MODEL: "fake-model",
      ENGRAM_EXTRACTION_POLL_INTERVAL: "20 millis",
      ...strategy.env
    }
    const layer = makeEngram({ database: Database.layerFile(Path.join(dir, "engram.db")), background: true }).pipe(
      Layer.provide(configLayer(env))
    )
    const boundaries = yield* Effect.gen(function*() {
      const memory = yield* Memory
      const scope = scopeOf(conversation)
      const cells: Array<ReadonlyArray<string>> = []
      for (const session of conversation.sessions) {
        const key = { ...scope, session_id: sessionIdOf(session) }
        const messages = sessionMessages(session)
        const batches = ingestion === "batched" ? [messages] : messages.map((m) => [m])
        for (const batch of batches) yield* memory.add({ ...key, messages: batch } as never)
        const flushed = yield* memory.flush(key as never, { wait: "120 seconds" })
        if (flushed.extraction_complete !== true) return yield* Effect.dieMessage(`extraction of ${key.session_id} did not finish`)
        for (const cell of (yield* memory.session(key as never)).memcells) cells.push(cell.message_ids)
      }
      return cells
    }).pipe(Effect.provide(layer))

    const byPurpose = new Map<string, PurposeCost>()
    for (const request of yield* llm.requests) {
      const body = request.body as { messages: ReadonlyArray<{ content: string }> }
      const purpose = oracle.purposeOf(request.body)
      const cost = byPurpose.get(purpose) ?? { calls: 0, promptChars: 0, promptTokens: 0, completionTokens: 0 }
      cost.calls++
      for (const message of body.messages) {
        cost.promptChars += message.content.length
        cost.promptTokens += tokens.count(message.content)
      }
      cost.completionTokens += tokens.count(answers.get(request) ?? "")
      byPurpose.set(purpose, cost)
    }
    return { byPurpose, boundaries }
  }))

const perMessage = (value: number, messages: number) => (value / messages).toFixed(value / messages >= 10 ? 0 : 2)

const table = (byPurpose: Map<string, PurposeCost>, messages: number): string => {
  const rows = [...byPurpose.entries()].sort(([a], [b]) => a.localeCompare(b))
  const total: PurposeCost = { calls: 0, promptChars: 0, promptTokens: 0, completionTokens: 0 }
  for (const [, cost] of rows) {
    total.calls += cost.calls
    total.promptChars += cost.promptChars
    total.promptTokens += cost.promptTokens
    total.completionTokens += cost.completionTokens
  }
  const line = (name: string, c: PurposeCost) =>
    `| ${name} | ${c.calls} | ${c.promptChars} | ${c.promptTokens} | ${c.completionTokens} | ${perMessage(c.calls, messages)} | ${
      perMessage(c.promptChars, messages)
    } | ${perMessage(c.promptTokens, messages)} | ${perMessage(c.completionTokens, messages)} |`
  return [
    "| purpose | calls | prompt chars | prompt tokens | completion tokens | calls/msg | prompt chars/msg | prompt tokens/msg | completion tokens/msg |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map(([name, cost]) => line(name, cost)),
    line("**all**", total)
  ].join("\n")
}

Effect.runPromise(Effect.gen(function*() {
  const conversations = yield* loadLocomo(dataPath)
  const conversation = conversations[conversationIndex]
  if (conversation === undefined) return yield* Effect.dieMessage(`no conversation ${conversationIndex}`)
  const tokens = yield* TokenCounter
  const oracle = topicOracle(conversation.sessions.flatMap((session) => sessionMessages(session)))
  const messages = oracle.turns
  console.log(`LoCoMo ${conversation.sampleId}: ${conversation.sessions.length} sessions, ${messages} turns; the fake closes a topic every ${TOPIC_LENGTH} turns\n`)
  for (const ingestion of ["turn-by-turn", "batched"] as const) {
    const results: Array<{ name: string; boundaries: ReadonlyArray<ReadonlyArray<string>>; tokens: number }> = []
    for (const strategy of STRATEGIES) {
      const result = yield* run(conversation, oracle, strategy, ingestion, tokens)
      console.log(`### ${ingestion}, ${strategy.name}: ${result.boundaries.length} memcells\n`)
      console.log(table(result.byPurpose, messages) + "\n")
      let promptTokens = 0
      for (const cost of result.byPurpose.values()) promptTokens += cost.promptTokens
      results.push({ name: strategy.name, boundaries: result.boundaries, tokens: promptTokens })
    }
    const [old, next] = results
    if (old !== undefined && next !== undefined) {
      const same = JSON.stringify(old.boundaries) === JSON.stringify(next.boundaries)
      console.log(
        `${ingestion}: memcells identical to the old strategy: ${same ? "yes" : "NO"}; prompt tokens ${
          (100 * next.tokens / old.tokens).toFixed(1)
        }% of the old strategy's\n`
      )
    }
  }
}).pipe(Effect.provide(TokenCounter.Default))).catch((error) => {
  console.error(error)
  process.exit(1)
})
