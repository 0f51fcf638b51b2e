import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { FakeReply, makeFakeLlmServer } from "../support/FakeLlmServer.js"
import { call } from "../support/HttpCall.js"
import { rawExchange } from "../support/RawSocket.js"
import { startServerProcess } from "../support/ServerProcess.js"

/**
 * The real process, provoked into every kind of log line it has (rejected tokens, malformed and
 * hostile bodies, a slow sender, a client hanging up mid-request, a failing model), never writes a
 * secret or a request payload to its output, and does not log client mistakes as errors.
 */

const API_KEY = "sk-engram-0f9e8d7c6b5a4"
const LLM_API_KEY = "sk-llm-a1b2c3d4e5f6"
const WRONG_TOKEN = "wrong-token-zz9y8x"
const PAYLOAD_MARKER = "PAYLOADMARKER42"

it.scopedLive("no secrets, no payloads and no error lines for client faults in the server's output", () =>
  Effect.gen(function*() {
    const llm = yield* makeFakeLlmServer({ handler: () => FakeReply.status(500) })
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-logs-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dataDir, { recursive: true, force: true })))
    const server = yield* startServerProcess({
      dataDir,
      env: {
        ENGRAM_API_KEY: API_KEY,
        // Ask the model on this add (the selective default would wait for more text), so its failure shows.
        ENGRAM_BOUNDARY_STRATEGY: "every_add",
        ENGRAM_EMBEDDER: "off",
        ENGRAM_LLM_BASE_URL: llm.baseUrl,
        ENGRAM_LLM_MODEL: "fake-model",
        ENGRAM_LLM_API_KEY: LLM_API_KEY,
        ENGRAM_LLM_MAX_RETRIES: "1",
        ENGRAM_LLM_TIMEOUT: "300 millis",
        ENGRAM_REQUEST_TIMEOUT: "1 second"
      }
    })
    const url = server.url
    const auth = { authorization: `Bearer ${API_KEY}` }
    const messages = [0, 1, 2].map((i) => ({
      message_id: `log-${i}`,
      sender_id: "alice",
      role: "user",
      timestamp: 1_700_000_000_000 + i * 1000,
      content: `my secret plan is ${PAYLOAD_MARKER} number ${i}`
    }))

    expect((yield* call(`${url}/api/v2/memory/add`, { json: { session_id: "s", messages }, headers: { authorization: `Bearer ${WRONG_TOKEN}` } }).pipe(Effect.orDie)).status)
      .toBe(401)
    // The model fails: a 503 and warnings, which must not quote the prompt.
    expect((yield* call(`${url}/api/v2/memory/add`, { json: { session_id: "s", messages }, headers: auth }).pipe(Effect.orDie)).status)
      .toBe(503)
    expect((yield* call(`${url}/api/v2/memory/add`, { raw: `{"session_id": "${PAYLOAD_MARKER}`, headers: auth }).pipe(Effect.orDie)).status)
      .toBe(400)
    expect((yield* call(`${url}/api/v2/memory/add`, { raw: "[".repeat(10_000) + PAYLOAD_MARKER, headers: auth }).pipe(Effect.orDie)).status)
      .toBe(400)
    expect(
      (yield* call(`${url}/api/v2/memory/add`, { json: { session_id: PAYLOAD_MARKER, messages: PAYLOAD_MARKER }, headers: auth }).pipe(Effect.orDie))
        .status
    ).toBe(422)
    // A slow sender is cut; a client that hangs up mid-request is just gone.
    const port = Number(new URL(url).port)
    const slow = yield* rawExchange(port, [
      `POST /api/v2/memory/add HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${API_KEY}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"content":"${PAYLOAD_MARKER}`
    ], { dripEvery: "100 millis" })
    expect(slow.status).toBe(408)
    yield* call(`${url}/api/v2/memory/flush`, { json: { session_id: "s" }, headers: auth, timeout: "100 millis" }).pipe(Effect.ignore)
    yield* Effect.sleep("1 second")

    // The key reached the model (and only the model).
    const seen = yield* llm.requests
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.every((r) => r.headers["authorization"] === `Bearer ${LLM_API_KEY}`)).toBe(true)

    expect(yield* server.stop("SIGTERM")).toBe(0)
    const output = yield* server.output
    expect(output).toContain("LLM call failed")
    for (const secret of [API_KEY, LLM_API_KEY, WRONG_TOKEN, PAYLOAD_MARKER, "secret plan"]) {
      expect([secret, output.includes(secret)]).toEqual([secret, false])
    }
    expect(output.split("\n").filter((line) => /\bERROR\b|level=ERROR|\bFATAL\b/.test(line))).toEqual([])
  }), 90_000)
