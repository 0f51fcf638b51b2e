import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { EngramApi } from "../../src/Http/Api.js"
import { configuredHttpLayer } from "../support/ConfiguredHttpServer.js"
import { call, type CallReply } from "../support/HttpCall.js"
import { baseUrl } from "../support/HttpTestServer.js"
import { boundaryAnswer } from "../support/MemoryTestLayer.js"
import { rawExchange } from "../support/RawSocket.js"

/**
 * Property tests over HTTP with random and adversarial bodies against every POST endpoint the API
 * declares (so new endpoints are covered as they land) and hostile path segments: never a 5xx,
 * never a body outside the envelope, every 422 names its field, other tenants' data never
 * changes, and the server keeps serving.
 */

const SEED = 424_242
const RUNS = 150
const TS = 1_700_000_000_000
const MAX_BODY_BYTES = 8 * 1024 * 1024

/** Data of a tenant no generated request names; it must come out of the run untouched. */
const GUARD = { app_id: "guard-tenant", project_id: "guard-project", session_id: "guarded" }

const postEndpoints = Object.values(EngramApi.groups).flatMap((group) =>
  Object.values(group.endpoints).flatMap((endpoint) =>
    endpoint.method === "POST" ? [endpoint.path] : []
  )
)

/** Values that have broken servers before: path tricks, reserved names, FTS and SQL syntax, odd Unicode. */
const NASTY_STRINGS = [
  "",
  " ",
  ".",
  "..",
  "../x",
  "..\\x",
  "/etc/passwd",
  "con",
  "NUL",
  "a/b",
  "%2e%2e",
  "\u0000",
  "a\u0000b",
  "\u001b[31mred",
  "\r\nx-injected: 1",
  "\ud800",
  "a\udfffb",
  "\u202eevil",
  "\u200b",
  "😀".repeat(50),
  "\"foo\" OR bar*",
  "NEAR(a b)",
  "^col:x",
  "a AND (b OR",
  "*",
  "\"",
  "'; DROP TABLE messages; --",
  "1 OR 1=1",
  "%",
  "_",
  "\\",
  "null",
  "undefined",
  "__proto__",
  "constructor",
  "x".repeat(129),
  "x".repeat(5000)
]

const deepArray = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
const deepObject = (depth: number) => "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)

const nastyString = fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ unit: "binary", maxLength: 40 }))

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, false, -1, 0, 1e308, -0, 2 ** 53 + 1),
  fc.constant("x".repeat(300_000)),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant(JSON.parse(deepObject(200)) as unknown)
)

const field = <A>(valid: fc.Arbitrary<A>) => fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: hostileValue })

const validId = fc.stringMatching(/^[a-z0-9_.-]{1,12}$/)

const message = fc.record(
  {
    message_id: field(fc.oneof(validId, nastyString)),
    sender_id: field(validId),
    sender_name: field(nastyString),
    role: field(fc.constantFrom("user", "assistant", "tool")),
    timestamp: field(fc.integer({ min: TS, max: TS + 1_000_000_000 })),
    content: field(fc.oneof(nastyString, fc.array(fc.record({ type: fc.constant("text"), text: nastyString }), { maxLength: 3 }))),
    tool_calls: field(fc.array(fc.dictionary(nastyString, fc.jsonValue({ maxDepth: 2 })), { maxLength: 2 })),
    tool_call_id: field(validId)
  },
  { requiredKeys: [] }
)

/** Something shaped like any of the request bodies, with some fields hostile, some missing, some extra. */
const structuredBody = fc.record(
  {
    session_id: field(fc.oneof(validId, nastyString)),
    app_id: field(validId),
    project_id: field(validId),
    user_id: field(validId),
    query: field(nastyString),
    memory_type: field(fc.constantFrom("episode", "atomic_fact", "foresight", "profile")),
    messages: field(fc.array(message, { maxLength: 4 })),
    memcell_ids: field(fc.array(nastyString, { maxLength: 3 })),
    job_ids: field(fc.array(nastyString, { maxLength: 3 })),
    wait: field(fc.boolean()),
    filters: field(fc.jsonValue({ maxDepth: 3 }))
  },
  { requiredKeys: [] }
).chain((body) => fc.dictionary(nastyString, hostileValue, { maxKeys: 2 }).map((extra) => ({ ...extra, ...body })))

const anyBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: structuredBody.map((body) => JSON.stringify(body)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom(deepArray(100_000), deepObject(100_000), "{", "[1,", "\"unterminated", "nul", "") }
)

/** `fc.assert`, but a failure reports a shortened counterexample (some are megabytes long). */
const assertProperty = async <Ts>(property: fc.IAsyncProperty<Ts>, params: fc.Parameters<Ts>) => {
  const details = await fc.check(property, params)
  if (!details.failed) return
  const example = JSON.stringify(details.counterexample) ?? String(details.counterexample)
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
  throw new Error(`property failed (seed ${details.seed}, path ${details.counterexamplePath}): ${error.slice(0, 800)}\ncounterexample: ${example.slice(0, 800)}`)
}

const isEnvelope = (reply: CallReply) =>
  typeof reply.body === "object" && reply.body !== null && typeof reply.body.request_id === "string" &&
  (reply.status < 300
    ? "data" in reply.body
    : typeof reply.body.error?.code === "string" && typeof reply.body.error?.message === "string" &&
      typeof reply.body.error?.timestamp === "string" && typeof reply.body.error?.path === "string")

/** Every dotted path into `value` (keys may be any string), plus `body` for the value itself. */
const pathsOf = (value: unknown): ReadonlyArray<string> => {
  const paths = ["body"]
  const walk = (node: unknown, prefix: string, depth: number) => {
    if (depth > 8 || typeof node !== "object" || node === null) return
    for (const [key, child] of Object.entries(node)) {
      const path = prefix.length > 0 ? `${prefix}.${key}` : key
      paths.push(path)
      walk(child, path, depth + 1)
    }
  }
  walk(value, "", 0)
  return paths
}

/** A 422 names its field: it ends with `: <path>`, a path into the body or a missing field under one. */
const namesField = (message: string, body: unknown) =>
  pathsOf(body).some((path) => message.endsWith(`: ${path}`)) ||
  ["", ...pathsOf(body).slice(1)].some((parent) => {
    const prefix = `: ${parent.length > 0 ? `${parent}.` : ""}`
    const at = message.lastIndexOf(prefix)
    return at >= 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(message.slice(at + prefix.length))
  })

/** The contract for any answer to a hostile request. */
const checkAnswer = (what: string, reply: CallReply, body: unknown) => {
  if (reply.status >= 500 || !isEnvelope(reply) || ![200, 400, 401, 404, 405, 409, 413, 415, 422].includes(reply.status)) {
    throw new Error(`${what.slice(0, 300)}: ${reply.status} ${reply.text.slice(0, 500)}`)
  }
  if (reply.status === 422 && !namesField(reply.body.error.message, body)) {
    throw new Error(`${what.slice(0, 300)}: 422 without the offending field: ${reply.body.error.message.slice(0, 300)}`)
  }
}

const guardedSnapshot = (url: string) =>
  Effect.map(
    call(`${url}/api/v2/memory/sessions/${GUARD.session_id}?app_id=${GUARD.app_id}&project_id=${GUARD.project_id}`).pipe(Effect.orDie),
    (reply) => reply.body.data
  )

// The selective strategy asking about every new message, so the guard's add cuts a memcell at once.
const server = configuredHttpLayer({ maxBodyBytes: MAX_BODY_BYTES }, { llm: () => boundaryAnswer([1]), env: { ENGRAM_BOUNDARY_ASK_TOKENS: "1" } })

layer(server, { excludeTestServices: true, timeout: "60 seconds" })("hostile input over HTTP", (it) => {
  it.effect("setup: another tenant's data, which nothing below may change", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const messages = [0, 1, 2, 3].map((i) => ({
        message_id: `guard-${i}`,
        sender_id: "guardian",
        role: i % 2 === 0 ? "user" : "assistant",
        timestamp: TS + i * 1000,
        content: `guarded message ${i}`
      }))
      const added = yield* call(`${url}/api/v2/memory/add`, { json: { ...GUARD, messages } }).pipe(Effect.orDie)
      expect(added.status).toBe(200)
      expect((yield* guardedSnapshot(url)).memcells.length).toBeGreaterThan(0)
    }))

  it.effect("random and adversarial bodies on every POST endpoint: envelopes, no 5xx, 422s name the field", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const before = yield* guardedSnapshot(url)
      expect(postEndpoints).toContain("/api/v2/memory/add")
      const statuses = new Map<number, number>()
      yield* Effect.promise(() =>
        assertProperty(
          fc.asyncProperty(fc.constantFrom(...postEndpoints), anyBody, async (path, body) => {
            const reply = await Effect.runPromise(call(`${url}${path}`, { raw: body }))
            let parsed: unknown = undefined
            try {
              parsed = JSON.parse(body)
            } catch {
              parsed = undefined
            }
            checkAnswer(`POST ${path} ${body.slice(0, 200)}`, reply, parsed)
            statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
          }),
          { seed: SEED, numRuns: RUNS * postEndpoints.length, endOnFailure: true }
        )
      )
      expect(yield* guardedSnapshot(url)).toEqual(before)
      expect((yield* call(`${url}/health`).pipe(Effect.orDie)).status).toBe(200)
      // The generators reach past validation too: some hostile requests are accepted and stored.
      expect(statuses.get(200) ?? 0).toBeGreaterThan(0)
      expect(statuses.get(422) ?? 0).toBeGreaterThan(0)
      expect(statuses.get(400) ?? 0).toBeGreaterThan(0)
    }), 120_000)

  it.effect("search queries made of FTS syntax, SQL fragments and odd Unicode are words, never errors", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      for (const query of NASTY_STRINGS.filter((q) => q.trim().length > 0 && q.length <= 2000)) {
        for (const method of ["keyword", undefined]) {
          const reply = yield* call(`${url}/api/v2/memory/search`, {
            json: { user_id: "guardian", query, ...(method === undefined ? {} : { method }) }
          }).pipe(Effect.orDie)
          checkAnswer(`search ${JSON.stringify(query).slice(0, 80)}`, reply, { user_id: "guardian", query })
          expect([query, reply.status]).toEqual([query, 200])
        }
      }
    }), 60_000)

  it.effect("hostile path segments and query strings on every GET route", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const segment = fc.oneof(
        nastyString.map((s) => {
          try {
            return encodeURIComponent(s)
          } catch {
            // A lone surrogate has no UTF-8 form: send the broken escape a client would.
            return "%ED%A0%80"
          }
        }),
        fc.constantFrom("%ZZ", "%", "%00", "..%2f..%2f", "a%2Fb", "%u0041", "%C3%28", "%ED%A0%80", "x".repeat(3000))
      )
      const query = fc.oneof(
        fc.constant(""),
        fc.tuple(fc.constantFrom("app_id", "project_id", "limit", "status", "x"), segment).map(([k, v]) => `?${k}=${v}`),
        fc.constantFrom("?app_id=a&app_id=b", "?limit=-1", "?limit=1e9", "?status=dead&status=done", "?&&&", "?=")
      )
      yield* Effect.promise(() =>
        assertProperty(
          fc.asyncProperty(
            fc.constantFrom("/api/v2/memory/sessions/", "/api/v1/memory/sessions/", "/api/v2/jobs", "/api/v2/memory/"),
            segment,
            query,
            async (route, id, q) => {
              const path = route.endsWith("/") ? `${route}${id}${q}` : `${route}${q}`
              const reply = await Effect.runPromise(call(`${url}${path}`))
              checkAnswer(`GET ${path.slice(0, 200)}`, reply, undefined)
            }
          ),
          { seed: SEED, numRuns: RUNS * 2, endOnFailure: true }
        )
      )
    }), 60_000)

  it.effect("invalid UTF-8, odd content types, 10 MB bodies (declared and chunked), oversized headers", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const port = Number(new URL(url).port)
      const add = `${url}/api/v2/memory/add`
      const invalidUtf8 = Buffer.concat([
        Buffer.from("{\"session_id\":\"utf8\",\"messages\":[{\"sender_id\":\"a\",\"role\":\"user\",\"timestamp\":1,\"content\":\""),
        Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]),
        Buffer.from("\"}]}")
      ])
      checkAnswer("invalid UTF-8", yield* call(add, { raw: new Uint8Array(invalidUtf8) }).pipe(Effect.orDie), JSON.parse(invalidUtf8.toString("utf8")))
      // Only JSON is read: forms are not parsed and multipart uploads never reach the disk.
      for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream"]) {
        const reply = yield* call(add, { raw: "{\"session_id\":\"ct\"}", headers: { "content-type": contentType } }).pipe(Effect.orDie)
        checkAnswer(`content-type ${contentType}`, reply, { session_id: "ct" })
        expect([contentType, reply.status, reply.body.error.code]).toEqual([contentType, 415, "UNSUPPORTED_FORMAT"])
      }
      for (const contentType of ["application/json; charset=utf-8", "APPLICATION/JSON"]) {
        const json = yield* call(add, { raw: "{\"session_id\":\"ct\"}", headers: { "content-type": contentType } }).pipe(Effect.orDie)
        expect([contentType, json.status, json.body.error.message]).toEqual([contentType, 422, "is required: messages"])
      }
      const vendorJson = yield* call(add, { raw: "{}", headers: { "content-type": "application/vnd.api+json" }, timeout: "10 seconds" })
        .pipe(Effect.orDie)
      expect(vendorJson.status).toBe(415)

      // Nesting deep enough to overflow a recursive validator or formatter is refused up front.
      for (const deep of [deepArray(100_000), deepObject(100_000), `{"session_id":"deep","messages":[{"sender_id":"a","role":"user","timestamp":1,"content":"x","tool_calls":[${deepObject(5_000)}]}]}`]) {
        for (const path of postEndpoints) {
          const reply = yield* call(`${url}${path}`, { raw: deep }).pipe(Effect.orDie)
          expect([path, reply.status, reply.body.error.code]).toEqual([path, 400, "BAD_REQUEST"])
        }
      }

      // A rejection quotes at most a little of the offending value, and names where it was.
      const hugeValue = yield* call(add, { json: { session_id: "big-type", messages: "m".repeat(200_000) } }).pipe(Effect.orDie)
      expect(hugeValue.status).toBe(422)
      expect(hugeValue.body.error.message.length).toBeLessThan(300)
      expect(hugeValue.body.error.message).toMatch(/: messages$/)
      const notAnObject = yield* call(add, { json: ["not", "an", "object"] }).pipe(Effect.orDie)
      expect(notAnObject.status).toBe(422)
      expect(notAnObject.body.error.message).toMatch(/: body$/)

      const tenMegabytes = JSON.stringify({ session_id: "big", messages: [{ sender_id: "a", role: "user", timestamp: 1, content: "x".repeat(10 * 1024 * 1024) }] })
      const declared = yield* call(add, { raw: tenMegabytes }).pipe(Effect.orDie)
      checkAnswer("10 MB", declared, undefined)
      expect(declared.status).toBe(413)
      // Without a content-length (chunked), the limit is enforced while reading.
      const chunked = yield* call(add, {
        raw: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(tenMegabytes.slice(i * 1_048_576, (i + 1) * 1_048_576)))
            controller.close()
          }
        })
      }).pipe(Effect.either)
      // The server may answer 413 before the upload ends, or cut the connection: never a 2xx or a 5xx.
      if (chunked._tag === "Right") {
        checkAnswer("10 MB chunked", chunked.right, undefined)
        expect(chunked.right.status).toBe(413)
      }

      const hugeHeader = yield* rawExchange(port, [`GET /health HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(64 * 1024)}\r\n\r\n`])
      expect(hugeHeader.status).toBe(400)
      expect(hugeHeader.body.error.code).toBe("BAD_REQUEST")
      expect((yield* call(`${url}/health`).pipe(Effect.orDie)).status).toBe(200)
      expect((yield* guardedSnapshot(url)).buffered.length + (yield* guardedSnapshot(url)).memcells.length).toBeGreaterThan(0)
    }), 60_000)
})
