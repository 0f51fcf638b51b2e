import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { connectStdio, toolJson } from "../support/McpClient.js"
import { cleanEnv } from "../support/ServerProcess.js"

/**
 * `engram mcp`, the real entry point spawned by the official SDK's stdio transport, on a fresh
 * data directory with the offline segmenter, extractors and embedder (no LLM configured).
 */

const root = Path.join(import.meta.dirname, "..", "..")
const TS = Date.parse("2024-04-01T09:00:00Z")

const tempDataDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-mcp-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const kyoto = [
  "I moved to Osaka last year. I'm planning a trip to Kyoto in April to see the cherry blossoms.",
  "Kyoto in April is lovely; book hotels early because of the blossom season.",
  "Which temples are best for cherry blossoms in Kyoto?",
  "Maruyama Park and the Philosopher's Path are the classic blossom spots."
].map((content, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content, timestamp: TS + i * 60_000 }))

it.scoped("the SDK client spawns engram mcp: every tool, both resources and the prompt work end to end", () =>
  Effect.gen(function*() {
    const dataDir = yield* tempDataDir
    const { call, client, readJson, stderr, transportErrors } = yield* connectStdio({ ENGRAM_DATA_DIR: dataDir, ENGRAM_MCP_USER_ID: "alice" })

    const { tools } = yield* Effect.promise(() => client.listTools())
    expect(tools.map((t) => t.name).sort()).toEqual(["flush_session", "forget", "get_memories", "list_sessions", "recall", "remember"])

    const remembered = yield* call("remember", { session_id: "kyoto", messages: kyoto })
    expect(remembered.structuredContent).toMatchObject({ session_id: "kyoto", message_count: 4 })
    const flushed = yield* call("flush_session", { session_id: "kyoto", wait: true })
    expect(flushed.structuredContent).toEqual({ status: "extracted", extraction_complete: true })

    const view = yield* readJson("engram://sessions/kyoto")
    expect(view.buffered).toEqual([])
    const messageIds: ReadonlyArray<string> = view.memcells.flatMap((c: { message_ids: ReadonlyArray<string> }) => c.message_ids)
    expect(new Set(messageIds).size).toBe(4)

    const recalled = toolJson(yield* call("recall", { query: "cherry blossoms in Kyoto" }))
    // The default since main: hybrid over the offline local embedder.
    expect(recalled.method).toBe("hybrid")
    expect(recalled.episodes.length).toBeGreaterThan(0)
    for (const episode of recalled.episodes) {
      expect(episode.session_id).toBe("kyoto")
      expect(episode.message_ids.every((id: string) => messageIds.includes(id))).toBe(true)
    }
    // The packed context quotes the conversation, each line citing a message of it.
    expect(recalled.context).toContain("alice: Which temples are best for cherry blossoms in Kyoto?")
    expect(recalled.context_lines.length).toBeGreaterThan(0)
    expect(recalled.context_lines.every((l: { message_ids: ReadonlyArray<string> }) => l.message_ids.every((id) => messageIds.includes(id)))).toBe(true)

    const facts = toolJson(yield* call("get_memories", { memory_type: "atomic_fact" }))
    expect(facts.atomic_facts.some((f: { content: string }) => f.content.includes("moved to Osaka"))).toBe(true)
    const sessions = toolJson(yield* call("list_sessions", {}))
    expect(sessions.sessions).toEqual([
      { session_id: "kyoto", user_messages: 2, user_messages_buffered: 0, first_timestamp: TS, last_timestamp: TS + 120_000 }
    ])

    const { resources } = yield* Effect.promise(() => client.listResources())
    expect(resources.map((r) => r.uri)).toEqual(["engram://users/alice"])
    const { resourceTemplates } = yield* Effect.promise(() => client.listResourceTemplates())
    expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual(["engram://sessions/{session_id}", "engram://users/{user_id}"])
    const user = yield* readJson("engram://users/alice")
    expect(user.about).toContain("does not extract user profiles yet")
    expect(user.recent_atomic_facts).toEqual(facts.atomic_facts)
    expect(user.recent_sessions.map((s: { session_id: string }) => s.session_id)).toEqual(["kyoto"])

    const prompt = yield* Effect.promise(() =>
      client.getPrompt({ name: "recall_context", arguments: { question: "Which cherry blossom spots in Kyoto did we talk about?" } })
    )
    const text = (prompt.messages[0]!.content as { text: string }).text
    expect(prompt.messages[0]!.role).toBe("user")
    // It holds the context recall packs for the same query.
    const packed = toolJson(yield* call("recall", { query: "Which cherry blossom spots in Kyoto did we talk about?" })).context
    expect(packed).toContain("cherry blossoms")
    expect(text).toContain(packed)
    expect(text.endsWith("Question: Which cherry blossom spots in Kyoto did we talk about?")).toBe(true)

    const refused = yield* call("recall", { query: "" })
    expect(refused.isError).toBe(true)
    expect(toolJson(refused)).toEqual({ code: "INVALID_INPUT", message: "must not be empty: query" })

    const forgotten = toolJson(yield* call("forget", { user_id: "alice", confirm: true }))
    expect(forgotten).toMatchObject({ messages: 4, memcells: view.memcells.length })
    expect(toolJson(yield* call("list_sessions", {})).sessions).toEqual([])

    // Nothing but protocol messages reached stdout; the log went to stderr.
    expect(transportErrors).toEqual([])
    expect(stderr()).toContain("engram MCP server ready on stdio")
  }), 180_000)

it.scoped("two engram mcp processes on one data dir, adding to one session at once, lose and duplicate nothing", () =>
  Effect.gen(function*() {
    const dataDir = yield* tempDataDir
    const env = { ENGRAM_DATA_DIR: dataDir, ENGRAM_MCP_USER_ID: "bob" }
    // One after the other, so the first has created the database when the second opens it.
    const clients = [yield* connectStdio(env), yield* connectStdio(env)]
    const perClient = 12
    yield* Effect.forEach(
      clients,
      ({ call }, c) =>
        Effect.forEach(
          Array.from({ length: perClient }, (_, i) => i),
          (i) =>
            call("remember", {
              session_id: "shared",
              messages: [
                { role: "user", content: `process ${c} asks question ${i} about gardening`, timestamp: TS + i * 1000 + c },
                { role: "assistant", content: `process ${c} answers question ${i}`, timestamp: TS + i * 1000 + c + 1 }
              ]
            }).pipe(Effect.tap((result) => expect(result.isError).toBe(false))),
          { concurrency: 3 }
        ),
      { concurrency: "unbounded" }
    )
    yield* clients[1]!.call("flush_session", { session_id: "shared" })
    const view = yield* clients[0]!.readJson("engram://sessions/shared")
    const ids: ReadonlyArray<string> = view.memcells.flatMap((c: { message_ids: ReadonlyArray<string> }) => c.message_ids)
    expect(view.buffered).toEqual([])
    expect(ids).toHaveLength(2 * perClient * 2)
    expect(new Set(ids).size).toBe(ids.length)
  }), 180_000)

it("stdout carries only JSON-RPC, logs go to stderr, and the server exits by itself when stdin closes", async () => {
  const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-mcp-raw-"))
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "mcp", "--data-dir", dataDir], {
    cwd: root,
    env: cleanEnv(),
    stdio: ["pipe", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk) => (stdout += chunk))
  child.stderr.on("data", (chunk) => (stderr += chunk))
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("exit", (code, signal) => resolve([code, signal])))
  const answered = (id: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (stdout.split("\n").some((line) => line.includes(`"id":${id}`))) {
          child.stdout.off("data", check)
          resolve()
        }
      }
      child.stdout.on("data", check)
      check()
    })
  try {
    const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`)
    send({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
    })
    await answered(1)
    send({ jsonrpc: "2.0", method: "notifications/initialized" })
    // No user is configured: remember without one is a tool error naming the sender field.
    send({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "remember", arguments: { session_id: "s", messages: [{ role: "user", content: "hi", timestamp: TS }] } }
    })
    await answered(2)
    child.stdin.end()
    expect(await exited).toEqual([0, null])

    const lines = stdout.split("\n").filter((line) => line.length > 0)
    expect(lines.length).toBe(2)
    const messages = lines.map((line) => JSON.parse(line))
    expect(messages.every((m) => m.jsonrpc === "2.0")).toBe(true)
    expect(messages[1].result.isError).toBe(true)
    expect(JSON.parse(messages[1].result.content[0].text)).toEqual({ code: "INVALID_INPUT", message: "is required: messages.0.sender_id" })
    expect(stderr).toContain("engram MCP server ready on stdio")
  } finally {
    child.kill("SIGKILL")
    Fs.rmSync(dataDir, { recursive: true, force: true })
  }
}, 120_000)
