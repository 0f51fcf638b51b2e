import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { httpServerLayer } from "../../src/Http/Server.js"
import { fakeEmbedderLayer } from "../support/FakeEmbedder.js"
import { baseUrl, type Reply, request } from "../support/HttpTestServer.js"
import { boundaryAnswer, configLayer, memoryTestLayer, textServices } from "../support/MemoryTestLayer.js"

/**
 * Black-box replay of the requests EverOS's public clients send, byte for byte in shape, over real
 * HTTP, checking the fields those clients read. Sources: EverOS 1.2.3 `docs/openapi.json`, and the
 * Raven plugin's memory module (`POST /api/v1/memory/{add,flush,search,get}`, `GET /health`), as
 * described in the reference notes (`enable_llm_rerank` on agent recall, `sort_by: "updated_at"`).
 * The server has an embedder (Raven asks for `hybrid` and `vector`) and a model.
 */
const server = httpServerLayer({ host: "127.0.0.1", port: 0, maxBodyBytes: 1024 * 1024, shutdownTimeout: Duration.seconds(2) }).pipe(
  Layer.provideMerge(
    memoryTestLayer({
      // The model answers boundaries ("no cut") and reranks; extraction is the offline one.
      llm: (chat) => (chat.purpose === "rerank" ? JSON.stringify({ ranked: [{ id: 1, score: 0.8 }] }) : boundaryAnswer([])),
      extractors: "local",
      embedder: fakeEmbedderLayer(),
      background: true
    })
  ),
  Layer.provide(textServices),
  Layer.provide(configLayer())
)

const APP = "everbot"
const SPACE = "shared"
const post = (path: string, body: unknown) => Effect.flatMap(baseUrl, (url) => request(`${url}${path}`, { body }))

/** Raven's `call()`: a reply is used when it is 2xx without `error`, and then only its `data`. */
const ravenData = (reply: Reply) => {
  expect({ status: reply.status, error: reply.body?.error }).toEqual({ status: 200, error: undefined })
  return reply.body.data
}

/** Raven renders an episode's date as `timestamp.slice(5, 10)`: the timestamp must be an ISO string. */
const ravenDay = (iso: unknown) => {
  expect(typeof iso).toBe("string")
  expect(new Date(iso as string).toISOString()).toBe(iso)
  return (iso as string).slice(5, 10)
}

const T = Date.UTC(2026, 8, 10, 9, 0)

layer(server, { excludeTestServices: true, timeout: "120 seconds" })("EverOS clients against Engram", (it) => {
  it.effect("Raven: probe add, turn add with tool calls, flush; then its recall searches read what they expect", () =>
    Effect.gen(function*() {
      // probe(): one assistant line owned by the crew agent.
      const probe = yield* post("/api/v1/memory/add", {
        session_id: "__probe__",
        app_id: APP,
        project_id: SPACE,
        messages: [{ sender_id: "crew", role: "assistant", timestamp: T, content: "（启动自检）" }]
      })
      expect(ravenData(probe)).toMatchObject({ message_count: 1 })
      expect(["accumulated", "extracted"]).toContain(probe.body.data.status)

      // turnDone(): user + assistant with OpenAI-style tool_calls, thread id flattened to `bot_x`.
      const turn = yield* post("/api/v1/memory/add", {
        session_id: "bot_ada",
        app_id: APP,
        project_id: SPACE,
        messages: [
          { sender_id: "chen", role: "user", timestamp: T, content: "I really love Sichuan hotpot, remember that." },
          {
            sender_id: "ada",
            role: "assistant",
            timestamp: T + 1000,
            content: "Noted: Sichuan hotpot.",
            tool_calls: [{ id: "c0", type: "function", function: { name: "remember", arguments: "{\"fact\":\"hotpot\"}" } }]
          }
        ]
      })
      expect(ravenData(turn).message_count).toBe(2)

      // flush(): Raven reads `status === "extracted"`.
      const flush = yield* post("/api/v1/memory/flush", { session_id: "bot_ada", app_id: APP, project_id: SPACE })
      expect(ravenData(flush).status).toBe("extracted")
      yield* post("/api/v2/memory/flush", { session_id: "bot_ada", app_id: APP, project_id: SPACE, wait: true })

      // forTurn(): the user track, hybrid, top 6 — reads summary / episode / subject and the day.
      const his = ravenData(yield* post("/api/v1/memory/search", { user_id: "chen", app_id: APP, project_id: SPACE, query: "Sichuan hotpot", top_k: 6, method: "hybrid" }))
      expect(his.episodes.length).toBeGreaterThan(0)
      const episode = his.episodes[0]
      expect(ravenDay(episode.timestamp)).toBe("09-10")
      expect(typeof (episode.summary || episode.episode || episode.subject)).toBe("string")
      expect(episode.summary.length).toBeGreaterThan(0)

      // forTurn(): the agent track, vector, top 4 — reads both agent arrays.
      const mine = ravenData(yield* post("/api/v1/memory/search", { agent_id: "ada", app_id: APP, project_id: SPACE, query: "Sichuan hotpot", top_k: 4, method: "vector" }))
      expect(Array.isArray(mine.agent_skills) && Array.isArray(mine.agent_cases)).toBe(true)

      // recall(scope user): hybrid with include_profile — reads episodes (and profiles when present).
      const recallUser = ravenData(
        yield* post("/api/v1/memory/search", { user_id: "chen", app_id: APP, project_id: SPACE, query: "hotpot", top_k: 5, method: "hybrid", include_profile: true })
      )
      expect(Array.isArray(recallUser.profiles)).toBe(true)
      expect(recallUser.episodes.map((e: any) => ravenDay(e.timestamp))).toContain("09-10")

      // recall(scope self/crew): hybrid with enable_llm_rerank (sent whenever /health says rerank false).
      const recallBot = ravenData(
        yield* post("/api/v1/memory/search", { agent_id: "ada", app_id: APP, project_id: SPACE, query: "hotpot", top_k: 5, method: "hybrid", enable_llm_rerank: true })
      )
      expect(Array.isArray(recallBot.agent_skills) && Array.isArray(recallBot.agent_cases)).toBe(true)
    }))

  it.effect("Raven's get shapes are accepted by the contract (profile and agent_skill with sort_by updated_at)", () =>
    Effect.gen(function*() {
      // refreshProfile() and skillsOf(): the shapes validate and the profile / agent tracks serve them.
      const profile = yield* post("/api/v1/memory/get", { user_id: "chen", app_id: APP, project_id: SPACE, memory_type: "profile", page: 1, page_size: 5 })
      const skills = yield* post("/api/v1/memory/get", {
        agent_id: "ada",
        app_id: APP,
        project_id: SPACE,
        memory_type: "agent_skill",
        page: 1,
        page_size: 50,
        sort_by: "updated_at"
      })
      for (const reply of [profile, skills]) {
        expect(reply.body?.error?.code).not.toBe("INVALID_INPUT")
        expect(reply.status).toBe(200)
        expect(Array.isArray(reply.body.data.profiles) && Array.isArray(reply.body.data.agent_skills)).toBe(true)
      }
      // The same sort on a type Engram serves answers a page.
      const episodes = yield* post("/api/v1/memory/get", { user_id: "chen", app_id: APP, project_id: SPACE, memory_type: "episode", sort_by: "updated_at" })
      expect(episodes.status).toBe(200)
      expect(episodes.body.data).toMatchObject({ total_count: expect.any(Number), count: expect.any(Number) })
    }))

  it.effect("GET /health carries what clients key off: status, version, capabilities (llm, embed, rerank...), disabled_features", () =>
    Effect.gen(function*() {
      const health = yield* Effect.flatMap(baseUrl, (url) => request(`${url}/health`))
      expect(health.status).toBe(200)
      expect(health.body.status).toBe("ok")
      expect(typeof health.body.version).toBe("string")
      for (const flag of ["llm", "embed", "rerank", "multimodal_llm", "parser"]) expect(typeof health.body.capabilities[flag]).toBe("boolean")
      expect(Array.isArray(health.body.disabled_features)).toBe(true)
    }))

  it.effect("EverOS's own request model: explicit nulls and defaults a Python client serialises (openapi 1.2.3)", () =>
    Effect.gen(function*() {
      const search = yield* post("/api/v2/memory/search", {
        user_id: "chen",
        agent_id: null,
        app_id: "default",
        project_id: "default",
        query: "hotpot",
        method: "keyword",
        top_k: -1,
        radius: null,
        min_score: null,
        include_profile: false,
        enable_llm_rerank: false,
        filters: null
      })
      const data = ravenData(search)
      expect(Object.keys(data)).toEqual(expect.arrayContaining(["episodes", "profiles", "agent_cases", "agent_skills", "unprocessed_messages"]))

      // defer_extraction, then the buffer is visible through search's unprocessed_messages with EverOS's names.
      const deferred = yield* post("/api/v2/memory/add", {
        session_id: "later",
        defer_extraction: true,
        messages: [{ sender_id: "chen", sender_name: null, role: "user", timestamp: T, content: "Tomorrow I fly to Chengdu.", tool_calls: null, tool_call_id: null }]
      })
      // null sender_name / tool_calls / tool_call_id are EverOS-valid and mean "absent".
      expect(ravenData(deferred)).toEqual({ message_count: 1, status: "accumulated" })
      const plain = yield* post("/api/v2/memory/add", {
        session_id: "later",
        defer_extraction: true,
        messages: [{ sender_id: "chen", role: "user", timestamp: T + 1, content: "Chengdu has the best hotpot." }]
      })
      expect(ravenData(plain)).toEqual({ message_count: 1, status: "accumulated" })
      const buffered = ravenData(
        yield* post("/api/v2/memory/search", { user_id: "chen", query: "Chengdu", method: "keyword", filters: { session_id: "later" } })
      ).unprocessed_messages
      const message = buffered.find((m: any) => m.content === "Chengdu has the best hotpot.")
      expect(message).toMatchObject({ session_id: "later", sender_id: "chen", role: "user", timestamp: new Date(T + 1).toISOString() })
      expect(message.id).toBe(message.message_id)
    }))
})
