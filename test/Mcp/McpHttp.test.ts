import { describe, expect, layer } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { RECALL_DEFAULT_MAX_TOKENS } from "../../src/Mcp/Tools.js"
import { configuredHttpLayer } from "../support/ConfiguredHttpServer.js"
import { baseUrl, request } from "../support/HttpTestServer.js"
import { connectHttp, toolJson } from "../support/McpClient.js"
import { boundaryAnswer } from "../support/MemoryTestLayer.js"

/**
 * Streamable HTTP MCP at /mcp of the real HTTP stack, driven by the official SDK client: the
 * tools answer like the HTTP API (same results, same error codes and messages), behind the same
 * bearer auth and body limit.
 */

const API_KEY = "mcp-test-key-4b9d2e"
const TS = 1_715_018_400_000
const auth = { authorization: `Bearer ${API_KEY}` }

const http = (url: string, path: string, body?: unknown) =>
  request(`${url}/api/v2${path}`, body === undefined ? { headers: auth } : { body, headers: auth })

const sessionMessageIds = (data: { buffered: ReadonlyArray<{ message_id: string }>; memcells: ReadonlyArray<{ message_ids: ReadonlyArray<string> }> }) => [
  ...data.buffered.map((m) => m.message_id),
  ...data.memcells.flatMap((c) => c.message_ids)
]

const secured = (llm: Parameters<typeof configuredHttpLayer>[1]["llm"]) =>
  configuredHttpLayer({ apiKey: Option.some(Redacted.make(API_KEY)) }, { llm, env: { ENGRAM_MCP_USER_ID: "alice" } })

layer(secured(() => boundaryAnswer([])), { excludeTestServices: true, timeout: "60 seconds" })("MCP over streamable HTTP", (it) => {
  describe("the edge", () => {
    it.scoped("needs the bearer token like every API route; GET is 405 and an oversized body 413", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const refused = yield* Effect.flip(connectHttp(url))
        expect(refused).toMatchObject({ error: { code: 401 } })
        const wrong = yield* Effect.flip(connectHttp(url, { authorization: "Bearer nope" }))
        expect(wrong).toMatchObject({ error: { code: 401 } })

        const get = yield* request(`${url}/mcp`, { headers: auth })
        expect(get.status).toBe(405)
        expect(get.headers.get("allow")).toBe("POST")
        const huge = yield* request(`${url}/mcp`, { raw: JSON.stringify({ pad: "x".repeat(2 * 1024 * 1024) }), headers: auth })
        expect(huge.status).toBe(413)
        expect(huge.body.error.code).toBe("PAYLOAD_TOO_LARGE")

        const { client } = yield* connectHttp(url, auth)
        expect((yield* Effect.promise(() => client.ping()))).toEqual({})
      }), 60_000)
  })

  it.scoped("lists the six tools with descriptions and input schemas naming the configured defaults", () =>
    Effect.gen(function*() {
      const { client } = yield* connectHttp(yield* baseUrl, auth)
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((t) => t.name).sort()).toEqual(["flush_session", "forget", "get_memories", "list_sessions", "recall", "remember"])
      for (const tool of tools) {
        expect(tool.description!.length).toBeGreaterThan(80)
        expect(tool.inputSchema.type).toBe("object")
      }
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]))
      // ENGRAM_MCP_USER_ID is set, so user_id is optional and its description says whose it is.
      expect(byName.remember!.inputSchema.required).toEqual(["session_id", "messages"])
      expect(JSON.stringify(byName.recall!.inputSchema.properties!.user_id)).toContain("'alice'")
      expect(byName.recall!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false })
      // forget never defaults the user and demands a confirmation.
      expect(byName.forget!.inputSchema.required).toEqual(["confirm"])
      expect(byName.forget!.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false })
    }), 60_000)

  it.scoped("remember, recall, list_sessions, flush_session, get_memories and forget answer as the HTTP API does", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const { client } = yield* connectHttp(url, auth)
      const call = (name: string, args: Record<string, unknown>) => Effect.promise(() => client.callTool({ name, arguments: args }))

      const remembered = yield* call("remember", {
        session_id: "trip",
        messages: [
          { role: "user", content: "I am flying to Lisbon next Friday for a conference.", timestamp: TS },
          { role: "assistant", content: "Enjoy Lisbon and the conference!", timestamp: TS + 60_000 }
        ]
      })
      expect(remembered.isError).toBe(false)
      expect(remembered.structuredContent).toEqual({ session_id: "trip", message_count: 2, status: "accumulated" })
      expect(toolJson(remembered)).toEqual(remembered.structuredContent)
      const session = yield* http(url, "/memory/sessions/trip")
      expect(session.body.data.buffered.map((m: any) => [m.sender_id, m.role, m.timestamp])).toEqual([
        ["alice", "user", TS],
        ["assistant", "assistant", TS + 60_000]
      ])

      // recall asks for a packed context by default (RECALL_DEFAULT_MAX_TOKENS) besides the results.
      const recalled = yield* call("recall", { query: "Lisbon conference" })
      expect(recalled.isError).toBe(false)
      const searched = yield* http(url, "/memory/search", { user_id: "alice", query: "Lisbon conference", max_tokens: RECALL_DEFAULT_MAX_TOKENS })
      expect(recalled.structuredContent).toEqual(searched.body.data)
      expect(searched.body.data.unprocessed_messages.map((m: any) => m.content)).toContain("I am flying to Lisbon next Friday for a conference.")
      expect(searched.body.data.context).toContain("alice: I am flying to Lisbon next Friday for a conference.")
      const budgeted = yield* call("recall", { query: "Lisbon conference", max_tokens: 5 })
      expect(budgeted.structuredContent).toEqual(
        (yield* http(url, "/memory/search", { user_id: "alice", query: "Lisbon conference", max_tokens: 5 })).body.data
      )

      const listed = yield* call("list_sessions", {})
      expect(listed.structuredContent).toMatchObject({
        sessions: [{ session_id: "trip", user_messages: 1, user_messages_buffered: 1, first_timestamp: TS, last_timestamp: TS }],
        total_count: 1
      })

      const flushed = yield* call("flush_session", { session_id: "trip" })
      expect(flushed.structuredContent).toEqual({ status: "extracted" })
      const relisted = yield* call("list_sessions", {})
      expect(relisted.structuredContent).toMatchObject({ sessions: [{ session_id: "trip", user_messages_buffered: 0 }] })

      const facts = yield* call("get_memories", { memory_type: "atomic_fact", page_size: 5 })
      const got = yield* http(url, "/memory/get", { user_id: "alice", memory_type: "atomic_fact", page_size: 5 })
      expect(facts.structuredContent).toEqual(got.body.data)

      const unconfirmed = yield* call("forget", { session_id: "trip" })
      expect(unconfirmed.isError).toBe(true)
      expect(toolJson(unconfirmed)).toEqual({ code: "INVALID_INPUT", message: "must be true to delete (deleting cannot be undone): confirm" })
      expect(sessionMessageIds((yield* http(url, "/memory/sessions/trip")).body.data)).toHaveLength(2)

      const forgotten = yield* call("forget", { session_id: "trip", confirm: true })
      expect(forgotten.isError).toBe(false)
      expect(forgotten.structuredContent).toMatchObject({ messages: 2, memcells: 1 })
      expect(sessionMessageIds((yield* http(url, "/memory/sessions/trip")).body.data)).toEqual([])
    }), 60_000)

  it.scoped("bad arguments are tool errors with the code and message HTTP gives the same input; the server keeps serving", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const { client } = yield* connectHttp(url, auth)
      const message = { sender_id: "alice", role: "user", timestamp: TS, content: "hello" }
      const cases: ReadonlyArray<readonly [tool: string, args: Record<string, unknown>, path: string, body: Record<string, unknown>]> = [
        ["remember", { session_id: "", messages: [{ role: "user", content: "hello", timestamp: TS }] }, "/memory/add", {
          session_id: "",
          messages: [message]
        }],
        ["remember", { session_id: "s", messages: [] }, "/memory/add", { session_id: "s", messages: [] }],
        ["remember", { session_id: "s", messages: [{ role: "tool", content: "42", timestamp: TS }] }, "/memory/add", {
          session_id: "s",
          messages: [{ ...message, sender_id: "tool", role: "tool", content: "42" }]
        }],
        ["remember", { session_id: "s", messages: [{ role: "user", content: "hi", timestamp: 1.5 }] }, "/memory/add", {
          session_id: "s",
          messages: [{ ...message, timestamp: 1.5 }]
        }],
        ["remember", { session_id: "s", app_id: "Shop", messages: [{ role: "user", content: "hi", timestamp: TS }] }, "/memory/add", {
          session_id: "s",
          app_id: "Shop",
          messages: [message]
        }],
        ["recall", { query: "   " }, "/memory/search", { user_id: "alice", query: "   " }],
        ["recall", { query: "x", top_k: 0 }, "/memory/search", { user_id: "alice", query: "x", top_k: 0 }],
        ["recall", { query: "x", max_tokens: 0 }, "/memory/search", { user_id: "alice", query: "x", max_tokens: 0 }],
        ["recall", { query: "x", method: "vector" }, "/memory/search", { user_id: "alice", query: "x", method: "vector" }],
        ["recall", { query: "x", filters: { colour: "red" } }, "/memory/search", { user_id: "alice", query: "x", filters: { colour: "red" } }],
        // An agent's memory type asked for a user (profiles are served since the profile track).
        ["get_memories", { memory_type: "agent_case" }, "/memory/get", { user_id: "alice", memory_type: "agent_case" }],
        ["get_memories", { memory_type: "episode", nope: 1 }, "/memory/get", { user_id: "alice", memory_type: "episode", nope: 1 }],
        ["get_memories", { page_size: 1000 }, "/memory/get", { user_id: "alice", page_size: 1000 }],
        ["flush_session", { session_id: "s", wait_timeout_ms: 10 }, "/memory/flush", { session_id: "s", wait_timeout_ms: 10 }],
        ["forget", { confirm: true }, "/memory/delete", {}],
        ["forget", { confirm: true, memcell_ids: [] }, "/memory/delete", { memcell_ids: [] }]
      ]
      for (const [tool, args, path, body] of cases) {
        const result = yield* Effect.promise(() => client.callTool({ name: tool, arguments: args }))
        const expected = yield* http(url, path, body)
        expect(expected.status, `${tool} ${JSON.stringify(args)}`).toBeGreaterThanOrEqual(400)
        expect(result.isError, `${tool} ${JSON.stringify(args)}`).toBe(true)
        expect(toolJson(result)).toEqual({ code: expected.body.error.code, message: expected.body.error.message })
      }

      // Errors that only MCP can make: a bad default-able user, a list page out of range.
      const badUser = yield* Effect.promise(() =>
        client.callTool({ name: "remember", arguments: { user_id: "no spaces", session_id: "s", messages: [{ role: "user", content: "x" }] } })
      )
      expect(toolJson(badUser)).toEqual({ code: "INVALID_INPUT", message: "must be 1-128 characters of a-z, A-Z, 0-9 and _ . @ + -: user_id" })
      const badPage = yield* Effect.promise(() => client.callTool({ name: "list_sessions", arguments: { page_size: 1000 } }))
      expect(toolJson(badPage)).toEqual({ code: "INVALID_INPUT", message: "must be an integer between 1 and 100: page_size" })

      // An unknown tool is a protocol error, not a crash.
      const unknown = yield* Effect.flip(Effect.tryPromise({ try: () => client.callTool({ name: "nope", arguments: {} }), catch: (error) => error }))
      expect(String(unknown)).toContain("'nope' not found")
      expect((yield* Effect.promise(() => client.listTools())).tools).toHaveLength(6)
      // Nothing of the refused calls was stored.
      expect(sessionMessageIds((yield* http(url, "/memory/sessions/s")).body.data)).toEqual([])
    }), 60_000)
})

layer(secured(() => boundaryAnswer([1])), { excludeTestServices: true, timeout: "60 seconds" })("MCP over HTTP under concurrency", (it) => {
  it.scoped("two clients adding to one session at once (each call sent twice) lose and duplicate nothing", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const perClient = 20
      const clients = yield* Effect.all([connectHttp(url, auth), connectHttp(url, auth)])
      const sent = clients.flatMap((_, c) =>
        Array.from({ length: perClient }, (_, i) => ({ role: "user", content: `client ${c} says message ${i}`, timestamp: TS + i * 1000 + c }))
      )
      // The boundary model cuts after the first buffered message, so memcells are committed while adds race.
      yield* Effect.forEach(
        clients,
        ({ client }, c) =>
          Effect.forEach(
            sent.filter((m) => m.content.startsWith(`client ${c} `)),
            (message) =>
              Effect.promise(() => client.callTool({ name: "remember", arguments: { session_id: "shared", messages: [message] } })).pipe(
                Effect.tap((result) => expect(result.isError).toBe(false)),
                Effect.repeatN(1)
              ),
            { concurrency: 4 }
          ),
        { concurrency: "unbounded" }
      )
      const flushed = yield* Effect.promise(() => clients[0]!.client.callTool({ name: "flush_session", arguments: { session_id: "shared" } }))
      expect(flushed.isError).toBe(false)

      const session = (yield* http(url, "/memory/sessions/shared")).body.data
      const ids = sessionMessageIds(session)
      expect(session.buffered).toEqual([])
      expect(ids).toHaveLength(sent.length)
      expect(new Set(ids).size).toBe(sent.length)
      const listed = yield* Effect.promise(() => clients[1]!.client.callTool({ name: "list_sessions", arguments: {} }))
      expect(listed.structuredContent).toMatchObject({ sessions: [{ session_id: "shared", user_messages: sent.length, user_messages_buffered: 0 }] })
    }), 120_000)
})
