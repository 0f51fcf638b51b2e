import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import type { ChatRequest, LlmClient } from "../../src/Llm/LlmClient.js"
import { withLlmMetrics } from "../../src/Llm/MeteredLlmClient.js"
import { httpServerLayer } from "../../src/Http/Server.js"
import { makeEngram } from "../../src/Engram.js"
import * as Database from "../../src/Storage/Database.js"
import type { Lexicon } from "../../src/Text/Lexicon.js"
import type { TokenCounter } from "../../src/Text/TokenCounter.js"
import { episodeIdIn, seedCorpus } from "../fixtures/searchCorpus.js"
import { fakeEmbedderLayer } from "../support/FakeEmbedder.js"
import { FakeLlm, type FakeLlmHandler, fakeLlmLayer } from "../support/FakeLlm.js"
import { baseUrl, httpTestLayer, request } from "../support/HttpTestServer.js"
import { boundaryAnswer, configLayer, textServices } from "../support/MemoryTestLayer.js"

/** The candidate number the prompt gives the line containing `marker`. */
const candidateNumber = (chat: ChatRequest, marker: string): number => {
  const line = chat.messages.at(-1)!.content.split("\n").find((l) => l.includes(marker))
  if (line === undefined) throw new Error(`no candidate line with ${marker}`)
  return Number(/^\[(\d+)\]/.exec(line)![1])
}

const userPromptOf = (chat: ChatRequest) => chat.messages.at(-1)!.content

/** Scripted model: answers by purpose; `script` may return undefined to fall back to "no cut". */
const scripted = (script: (chat: ChatRequest) => string | undefined): FakeLlmHandler => (chat) =>
  script(chat) ?? boundaryAnswer([])

/** The corpus behind the real HTTP stack, with an embedder (agentic's base retrieval is hybrid). */
const seeded = (llm: FakeLlmHandler, env: Record<string, string> = {}) =>
  Layer.effectDiscard(seedCorpus()).pipe(Layer.provideMerge(httpTestLayer({ llm, env, embedder: fakeEmbedderLayer() })))

const search = (body: Record<string, unknown>) =>
  Effect.flatMap(baseUrl, (url) => request(`${url}/api/v2/memory/search`, { body: { user_id: "alice", ...body } }))

const callsFor = (purpose: string) => Effect.map(Effect.flatMap(FakeLlm, (fake) => fake.calls), (calls) => calls.filter((c) => c.purpose === purpose))

/** "Alice" is in every one of her episodes: a query that matches several, so an order can change. */
const BROAD = "Alice paella Berlin morning"

layer(
  seeded(scripted((chat) => {
    if (chat.purpose !== "rerank") return undefined
    const paella = candidateNumber(chat, "Cooking paella")
    const others = userPromptOf(chat).split("\n").filter((l) => /^\[\d+\]/.test(l)).map((l) => Number(/^\[(\d+)\]/.exec(l)![1]))
    return JSON.stringify({ ranked: [{ id: paella, score: 0.95 }, ...others.filter((n) => n !== paella).map((id) => ({ id, score: 0.1 }))] })
  })),
  { excludeTestServices: true, timeout: "60 seconds" }
)("enable_llm_rerank with an LLM", (it) => {
  it.effect("one model call judges the candidates; the model's score orders them and the fused score stays beside it", () =>
    Effect.gen(function*() {
      const plain = yield* search({ query: BROAD, method: "keyword" })
      expect(plain.status).toBe(200)
      expect(plain.body.data.llm_rerank).toBeUndefined()
      const fusedOrder = plain.body.data.episodes.map((e: any) => e.id)
      expect(fusedOrder.length).toBeGreaterThan(2)
      expect(fusedOrder[0]).not.toBe(episodeIdIn("mc-food"))

      const before = (yield* callsFor("rerank")).length
      const reranked = yield* search({ query: BROAD, method: "keyword", enable_llm_rerank: true, top_k: 2 })
      expect(reranked.status).toBe(200)
      expect((yield* callsFor("rerank")).length - before).toBe(1)
      const data = reranked.body.data
      expect(data.llm_rerank).toMatchObject({ applied: true })
      expect(data.episodes).toHaveLength(2)
      expect(data.episodes[0]).toMatchObject({ id: episodeIdIn("mc-food"), score: 0.95 })
      expect(typeof data.episodes[0].fusion_score).toBe("number")
      expect(data.episodes[1].score).toBe(0.1)
      // The prompt names the query and shows each candidate once.
      const prompt = userPromptOf((yield* callsFor("rerank")).at(-1)!)
      expect(prompt).toContain(BROAD)
      expect(prompt.split("\n").filter((l) => l.includes("Cooking paella"))).toHaveLength(1)
    }))

  it.effect("/health says rerank is available and nothing LLM-based is disabled", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const health = yield* request(`${url}/health`)
      expect(health.body.capabilities).toMatchObject({ llm: false, rerank: true, multimodal_llm: false, parser: false })
      expect(health.body.disabled_features).not.toContain("llm_rerank")
      expect(health.body.disabled_features).not.toContain("agentic_search")
    }))
})

layer(seeded(scripted((chat) => (chat.purpose === "rerank" ? "I think the second one is best." : undefined))), {
  excludeTestServices: true,
  timeout: "60 seconds"
})("enable_llm_rerank with a model that cannot answer", (it) => {
  it.effect("malformed answers are asked again (3 calls), then the fused order is kept and the answer says why", () =>
    Effect.gen(function*() {
      const plain = yield* search({ query: BROAD, method: "keyword", top_k: 3 })
      const before = (yield* callsFor("rerank")).length
      const reply = yield* search({ query: BROAD, method: "keyword", top_k: 3, enable_llm_rerank: true })
      expect(reply.status).toBe(200)
      expect((yield* callsFor("rerank")).length - before).toBe(3)
      expect(reply.body.data.llm_rerank).toMatchObject({ applied: false, judged: 0 })
      expect(reply.body.data.llm_rerank.reason).toContain("rerank")
      expect(reply.body.data.episodes.map((e: any) => [e.id, e.score])).toEqual(plain.body.data.episodes.map((e: any) => [e.id, e.score]))
    }))
})

layer(
  seeded(scripted((chat) => {
    if (chat.purpose === "agentic_sufficiency") {
      return JSON.stringify({ is_sufficient: false, reasoning: "only food", missing_information: ["how Alice exercises"] })
    }
    if (chat.purpose === "agentic_queries") return JSON.stringify({ queries: ["runs canal kilometres", "paella", "  "] })
    return undefined
  })),
  { excludeTestServices: true, timeout: "60 seconds" }
)("method agentic", (it) => {
  it.effect("checks sufficiency over the base results, runs the complementary queries and fuses them", () =>
    Effect.gen(function*() {
      const base = yield* search({ query: "paella", method: "hybrid" })
      expect(base.body.data.episodes.map((e: any) => e.id)).toEqual([episodeIdIn("mc-food")])

      const reply = yield* search({ query: "paella", method: "agentic" })
      expect(reply.status).toBe(200)
      const data = reply.body.data
      expect(data.method).toBe("agentic")
      // The original query is not run again, blank ones are dropped.
      expect(data.agentic).toEqual({ sufficient: false, queries: ["runs canal kilometres"], llm_calls: 2 })
      expect(data.episodes.map((e: any) => e.id)).toEqual([episodeIdIn("mc-food"), episodeIdIn("mc-sport")])
      expect(Object.keys(data).sort()).toEqual(["agent_cases", "agent_skills", "agentic", "episodes", "method", "profiles", "unprocessed_messages"])
      const sufficiency = (yield* callsFor("agentic_sufficiency")).at(-1)!
      expect(userPromptOf(sufficiency)).toContain("Cooking paella")
      expect(userPromptOf((yield* callsFor("agentic_queries")).at(-1)!)).toContain("how Alice exercises")
    }))
})

layer(
  seeded(scripted((chat) => (chat.purpose === "agentic_sufficiency" ? "{\"is_sufficient\": \"maybe\"}" : undefined))),
  { excludeTestServices: true, timeout: "60 seconds" }
)("method agentic with a model that cannot answer", (it) => {
  it.effect("malformed sufficiency answers are retried, then the base results come back with the reason", () =>
    Effect.gen(function*() {
      const base = yield* search({ query: "paella", method: "hybrid" })
      const reply = yield* search({ query: "paella", method: "agentic" })
      expect(reply.status).toBe(200)
      expect(reply.body.data.agentic).toMatchObject({ sufficient: null, queries: [], llm_calls: 3 })
      expect(reply.body.data.agentic.fallback).toContain("agentic_sufficiency")
      expect(reply.body.data.episodes).toEqual(base.body.data.episodes)
    }))
})

layer(
  seeded(
    scripted((chat) => {
      if (chat.purpose === "agentic_sufficiency") return JSON.stringify({ is_sufficient: false, missing_information: ["more"] })
      if (chat.purpose === "agentic_queries") return JSON.stringify({ queries: ["runs"] })
      return undefined
    }),
    { ENGRAM_AGENTIC_MAX_LLM_CALLS: "1" }
  ),
  { excludeTestServices: true, timeout: "60 seconds" }
)("method agentic within ENGRAM_AGENTIC_MAX_LLM_CALLS", (it) => {
  it.effect("a spent call budget stops the rounds: no further model call, base results", () =>
    Effect.gen(function*() {
      const reply = yield* search({ query: "paella", method: "agentic" })
      expect(reply.status).toBe(200)
      expect(reply.body.data.agentic).toMatchObject({ sufficient: null, llm_calls: 1 })
      expect(reply.body.data.agentic.fallback).toContain("budget")
      expect(yield* callsFor("agentic_queries")).toEqual([])
      expect(reply.body.data.episodes.map((e: any) => e.id)).toEqual([episodeIdIn("mc-food")])
    }))
})

layer(
  seeded(
    (chat) => (chat.purpose === "agentic_sufficiency" ? Effect.as(Effect.sleep("1 hour"), "{}") : boundaryAnswer([])),
    { ENGRAM_AGENTIC_TIMEOUT: "200 millis" }
  ),
  { excludeTestServices: true, timeout: "60 seconds" }
)("method agentic past ENGRAM_AGENTIC_TIMEOUT", (it) => {
  it.effect("a model that does not answer in time is abandoned: base results, the deadline named", () =>
    Effect.gen(function*() {
      const reply = yield* search({ query: "paella", method: "agentic" })
      expect(reply.status).toBe(200)
      expect(reply.body.data.agentic).toMatchObject({ sufficient: null, queries: [], llm_calls: 1 })
      expect(reply.body.data.agentic.fallback).toContain("exceeded")
      expect(reply.body.data.episodes.map((e: any) => e.id)).toEqual([episodeIdIn("mc-food")])
    }))
})

/** The test application with its model metered as in production (`withLlmMetrics`). */
const meteredServer = (llm: FakeLlmHandler) =>
  httpServerLayer({ host: "127.0.0.1", port: 0, maxBodyBytes: 1024 * 1024, shutdownTimeout: Duration.seconds(2) }).pipe(
    Layer.provideMerge(
      Layer.effectDiscard(seedCorpus()).pipe(
        Layer.provideMerge(
          makeEngram<LlmClient | TokenCounter | Lexicon>({
            database: Database.layerMemory,
            llm: withLlmMetrics(Layer.context<LlmClient>()),
            embedder: fakeEmbedderLayer(),
            tokenCounter: Layer.context<TokenCounter>(),
            lexicon: Layer.context<Lexicon>()
          }).pipe(Layer.provideMerge(fakeLlmLayer(llm)), Layer.orDie)
        )
      )
    ),
    Layer.provide(textServices),
    Layer.provide(configLayer())
  )

const counted = (metrics: string, purpose: string) => {
  const line = metrics.split("\n").find((l) => l.startsWith(`engram_llm_calls_total{purpose="${purpose}"}`))
  return line === undefined ? 0 : Number(line.split(" ").at(-1))
}

layer(
  meteredServer((chat) => {
    if (chat.purpose === "rerank") return JSON.stringify({ ranked: [{ id: 1, score: 0.5 }] })
    if (chat.purpose === "agentic_sufficiency") return JSON.stringify({ is_sufficient: true })
    return boundaryAnswer([])
  }),
  { excludeTestServices: true, timeout: "60 seconds" }
)("search's LLM calls in /metrics", (it) => {
  it.effect("are counted by purpose", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const before = (yield* request(`${url}/metrics`)).text
      expect((yield* search({ query: BROAD, enable_llm_rerank: true })).body.data.llm_rerank.applied).toBe(true)
      expect((yield* search({ query: "paella", method: "agentic" })).body.data.agentic).toEqual({ sufficient: true, queries: [], llm_calls: 1 })
      const after = (yield* request(`${url}/metrics`)).text
      expect(counted(after, "rerank") - counted(before, "rerank")).toBe(1)
      expect(counted(after, "agentic_sufficiency") - counted(before, "agentic_sufficiency")).toBe(1)
    }))
})

/** The same application without any LLM: the offline configuration. */
const offlineServer = httpServerLayer({ host: "127.0.0.1", port: 0, maxBodyBytes: 1024 * 1024, shutdownTimeout: Duration.seconds(2) }).pipe(
  Layer.provideMerge(
    Layer.effectDiscard(seedCorpus()).pipe(
      Layer.provideMerge(
        makeEngram<TokenCounter | Lexicon>({
          database: Database.layerMemory,
          embedder: "none",
          tokenCounter: Layer.context<TokenCounter>(),
          lexicon: Layer.context<Lexicon>()
        }).pipe(Layer.orDie)
      )
    )
  ),
  Layer.provide(textServices),
  Layer.provide(configLayer())
)

layer(offlineServer, { excludeTestServices: true, timeout: "60 seconds" })("search without an LLM", (it) => {
  it.effect("enable_llm_rerank is accepted and the answer says it was not applied", () =>
    Effect.gen(function*() {
      const plain = yield* search({ query: BROAD })
      const reply = yield* search({ query: BROAD, enable_llm_rerank: true })
      expect(reply.status).toBe(200)
      expect(reply.body.data.llm_rerank).toMatchObject({ applied: false, judged: 0 })
      expect(reply.body.data.llm_rerank.reason).toContain("ENGRAM_LLM_BASE_URL")
      expect(reply.body.data.episodes).toEqual(plain.body.data.episodes)
    }))

  it.effect("agentic answers 503 CAPABILITY_UNAVAILABLE with a hint", () =>
    Effect.gen(function*() {
      const reply = yield* search({ query: "paella", method: "agentic" })
      expect(reply.status).toBe(503)
      expect(reply.body.error.code).toBe("CAPABILITY_UNAVAILABLE")
      expect(reply.body.error.message).toContain("ENGRAM_LLM_BASE_URL")
    }))

  it.effect("/health: rerank false, the LLM features listed as disabled", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const health = yield* request(`${url}/health`)
      expect(health.body.capabilities.rerank).toBe(false)
      expect(health.body.disabled_features).toEqual(["llm_rerank", "agentic_search", "vector_search", "hybrid_search"])
    }))
})
