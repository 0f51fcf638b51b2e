import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { httpServerLayer } from "../../src/Http/Server.js"
import { fakeEmbedderLayer } from "../support/FakeEmbedder.js"
import { episodeIdIn, seedCorpus } from "../fixtures/searchCorpus.js"
import { baseUrl, httpTestLayer, type Reply, request } from "../support/HttpTestServer.js"
import { boundaryAnswer, configLayer, memoryTestLayer, textServices } from "../support/MemoryTestLayer.js"

const never = () => boundaryAnswer([])

const seededServer = Layer.effectDiscard(seedCorpus()).pipe(Layer.provideMerge(httpTestLayer({ llm: never })))

/** The HTTP stack with a (fake) embedder and its indexer in the memory layers, as ENGRAM_EMBED_* would give. */
const embeddingServer = httpServerLayer({ host: "127.0.0.1", port: 0, maxBodyBytes: 1024 * 1024, shutdownTimeout: Duration.seconds(2) }).pipe(
  Layer.provideMerge(memoryTestLayer({ llm: never, embedder: fakeEmbedderLayer() })),
  Layer.provide(textServices),
  Layer.provide(configLayer())
)

const searchAt = (url: string, body: unknown, version = "v2") => request(`${url}/api/${version}/memory/search`, { body })

const expectError = (reply: Reply, status: number, code: string, messagePart: string) => {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status, code })
  expect(reply.body.error.message).toContain(messagePart)
}

layer(seededServer, { excludeTestServices: true, timeout: "60 seconds" })("POST /memory/search", (it) => {
  it.effect("answers the contract: envelope, method, all five arrays, episodes with provenance (v1 alias too)", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      for (const version of ["v2", "v1"]) {
        const reply = yield* searchAt(url, { user_id: "alice", query: "paella" }, version)
        expect(reply.status).toBe(200)
        expect(reply.body.request_id).toBe(reply.headers.get("x-request-id"))
        const data = reply.body.data
        expect(Object.keys(data).sort()).toEqual(["agent_cases", "agent_skills", "episodes", "method", "profiles", "unprocessed_messages"])
        expect(data.method).toBe("keyword")
        expect(data.episodes[0]).toMatchObject({ id: episodeIdIn("mc-food"), type: "episode", memcell_id: "mc-food", message_ids: ["food-1", "food-2"] })
        expect(Object.keys(data.episodes[0]).sort()).toEqual([
          "app_id", "atomic_facts", "episode", "id", "memcell_id", "message_ids", "project_id", "score", "sender_ids", "session_id",
          "subject", "summary", "timestamp", "type", "user_id"
        ])
        expect(data.episodes[0].atomic_facts[0]).toMatchObject({ content: "Alice's favourite dish is paella.", message_ids: ["food-2"] })
      }
    }))

  it.effect("refuses malformed requests with 422 naming the problem", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      expectError(yield* searchAt(url, { user_id: "alice", query: "x", colour: "red" }), 422, "INVALID_INPUT", "colour")
      expectError(yield* searchAt(url, { user_id: "alice", agent_id: "bot", query: "x" }), 422, "INVALID_INPUT", "exactly one of user_id and agent_id")
      expectError(yield* searchAt(url, { query: "x" }), 422, "INVALID_INPUT", "exactly one of user_id and agent_id")
      expectError(yield* searchAt(url, { user_id: "alice", query: "x", top_k: 0 }), 422, "INVALID_INPUT", "top_k")
      expectError(yield* searchAt(url, { user_id: "alice", query: "" }), 422, "INVALID_INPUT", "query")
      expectError(yield* searchAt(url, { user_id: "alice", query: "x", filters: { sessionid: "s" } }), 422, "INVALID_INPUT", "sessionid")
      expectError(
        yield* searchAt(url, { user_id: "alice", query: "x", filters: { timestamp: { gt: "yesterday" } } }),
        422,
        "INVALID_INPUT",
        "filters.timestamp"
      )
      expectError(yield* searchAt(url, { user_id: "alice", query: "x", method: "semantic" }), 422, "INVALID_INPUT", "method")
    }))

  it.effect("answers 503 CAPABILITY_UNAVAILABLE with a hint for vector/hybrid without an embedder, and for agentic", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      for (const method of ["vector", "hybrid"]) {
        expectError(yield* searchAt(url, { user_id: "alice", query: "x", method }), 503, "CAPABILITY_UNAVAILABLE", "ENGRAM_EMBED_BASE_URL")
      }
      expectError(yield* searchAt(url, { user_id: "alice", query: "x", method: "agentic" }), 503, "CAPABILITY_UNAVAILABLE", "agentic")
    }))

  it.effect("never turns FTS syntax in a query into a 500", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      for (const query of ["\"", "C++ AND (Rust", "NEAR(a b)", "*", "-paella", "subject:\"x", "北\"京*"]) {
        const reply = yield* searchAt(url, { user_id: "alice", query })
        expect(reply.status, query).toBe(200)
      }
    }))

  it.effect("/health says embed: false without an embedder", () =>
    Effect.gen(function*() {
      const health = yield* request(`${yield* baseUrl}/health`)
      expect(health.body.capabilities.embed).toBe(false)
    }))
})

layer(embeddingServer, { excludeTestServices: true, timeout: "60 seconds" })("search with an embedder configured", (it) => {
  it.effect("/health says embed: true and search defaults to hybrid", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      expect((yield* request(`${url}/health`)).body.capabilities.embed).toBe(true)
      const reply = yield* searchAt(url, { user_id: "alice", query: "anything" })
      expect(reply.status).toBe(200)
      expect(reply.body.data.method).toBe("hybrid")
    }))
})

