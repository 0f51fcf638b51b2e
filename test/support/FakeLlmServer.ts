import { Effect } from "effect"
import type { Scope } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

/**
 * A scriptable OpenAI-compatible HTTP server on 127.0.0.1 for tests of the real HTTP path:
 * `POST /chat/completions` and `POST /embeddings`. Each request is answered by the next scripted
 * reply for its path, or by the handler once that queue is empty. It records every request.
 */

export type FakeEndpoint = "/chat/completions" | "/embeddings"

/** How the server answers one request. Build these with `FakeReply`. */
export type FakeReply =
  /** 200 with a well-formed chat completion whose `choices[0].message.content` is `content`. */
  | { readonly _tag: "Answer"; readonly content: string; readonly model?: string }
  /** 200 with a well-formed embeddings list. */
  | { readonly _tag: "Embeddings"; readonly vectors: ReadonlyArray<ReadonlyArray<number>> }
  /** Any status, headers and body, e.g. 500, or 429 with `Retry-After`. */
  | {
    readonly _tag: "Status"
    readonly status: number
    readonly headers?: Readonly<Record<string, string>>
    readonly body?: string
  }
  /** Never answers; the connection is closed when the server stops. */
  | { readonly _tag: "Hang" }
  /** Destroys the socket without any response (ECONNRESET for the client). */
  | { readonly _tag: "Reset" }
  /** A complete 200 response whose body is cut-off JSON. */
  | { readonly _tag: "TruncatedJson" }
  /** Sends headers and part of the body, then destroys the socket (a broken transfer). */
  | { readonly _tag: "CutMidBody" }
  /** 200 with valid JSON lacking the fields a client needs (no content / no embedding). */
  | { readonly _tag: "MissingFields" }
  /** Waits, then answers with `reply`. */
  | { readonly _tag: "Delayed"; readonly delayMs: number; readonly reply: FakeReply }

export const FakeReply = {
  answer: (content: string, model?: string): FakeReply =>
    model === undefined ? { _tag: "Answer", content } : { _tag: "Answer", content, model },
  embeddings: (vectors: ReadonlyArray<ReadonlyArray<number>>): FakeReply => ({ _tag: "Embeddings", vectors }),
  status: (status: number, body?: string, headers?: Readonly<Record<string, string>>): FakeReply => ({
    _tag: "Status",
    status,
    body: body ?? JSON.stringify({ error: { message: `fake status ${status}`, type: "fake_error" } }),
    ...(headers === undefined ? {} : { headers })
  }),
  rateLimited: (retryAfter: string): FakeReply =>
    FakeReply.status(429, JSON.stringify({ error: { message: "rate limited" } }), { "retry-after": retryAfter }),
  hang: { _tag: "Hang" } as FakeReply,
  reset: { _tag: "Reset" } as FakeReply,
  truncatedJson: { _tag: "TruncatedJson" } as FakeReply,
  cutMidBody: { _tag: "CutMidBody" } as FakeReply,
  missingFields: { _tag: "MissingFields" } as FakeReply,
  slow: (delayMs: number, reply: FakeReply): FakeReply => ({ _tag: "Delayed", delayMs, reply })
} as const

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  /** The parsed JSON body, or the raw text when it was not JSON. */
  readonly body: unknown
  readonly receivedAtMs: number
}

/** Answers a request whose path has nothing scripted; `index` counts requests to that path. */
export type FakeHandler = (request: RecordedRequest, index: number) => FakeReply

/** Unscripted calls fail loudly and are not retried by clients (400). */
const defaultHandler: FakeHandler = (request) =>
  FakeReply.status(400, JSON.stringify({ error: { message: `FakeLlmServer: nothing scripted for ${request.path}` } }))

export interface FakeLlmServer {
  /** e.g. `http://127.0.0.1:54321` (no trailing slash, no `/v1`). */
  readonly baseUrl: string
  /** Every request received so far, in arrival order. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** Queue replies for `/chat/completions`, used one per request in order. */
  readonly script: (...replies: ReadonlyArray<FakeReply>) => Effect.Effect<void>
  /** Queue replies for any endpoint. */
  readonly scriptFor: (endpoint: FakeEndpoint, ...replies: ReadonlyArray<FakeReply>) => Effect.Effect<void>
  /** Answers requests once their queue is empty. */
  readonly setHandler: (handler: FakeHandler) => Effect.Effect<void>
}

const completionBody = (content: string, model: string) => ({
  id: "chatcmpl-fake",
  object: "chat.completion",
  created: Math.floor(Date.now() / 1000),
  model,
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
})

const embeddingsBody = (vectors: ReadonlyArray<ReadonlyArray<number>>, model: string) => ({
  object: "list",
  data: vectors.map((embedding, index) => ({ object: "embedding", index, embedding })),
  model,
  usage: { prompt_tokens: 1, total_tokens: 1 }
})

const missingFieldsBody = (path: string) =>
  path === "/embeddings"
    ? { object: "list", data: [{ object: "embedding", index: 0 }] }
    : { id: "chatcmpl-fake", object: "chat.completion", choices: [{ index: 0, message: { role: "assistant" } }] }

export interface FakeLlmServerOptions {
  readonly handler?: FakeHandler
  /** The `model` reported in answers. Default "fake-model". */
  readonly model?: string
}

/** Starts the server on a random free port; it stops (closing hung connections) with the scope. */
export const makeFakeLlmServer = (
  options: FakeLlmServerOptions = {}
): Effect.Effect<FakeLlmServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const model = options.model ?? "fake-model"
    const recorded: Array<RecordedRequest> = []
    const queues = new Map<string, Array<FakeReply>>()
    const counts = new Map<string, number>()
    const timers = new Set<NodeJS.Timeout>()
    let handler = options.handler ?? defaultHandler

    const sendJson = (res: Http.ServerResponse, status: number, body: unknown) => {
      const text = JSON.stringify(body)
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
      res.end(text)
    }

    const respond = (req: Http.IncomingMessage, res: Http.ServerResponse, path: string, reply: FakeReply): void => {
      switch (reply._tag) {
        case "Answer":
          return sendJson(res, 200, completionBody(reply.content, reply.model ?? model))
        case "Embeddings":
          return sendJson(res, 200, embeddingsBody(reply.vectors, model))
        case "Status": {
          const body = reply.body ?? ""
          res.writeHead(reply.status, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            ...reply.headers
          })
          res.end(body)
          return
        }
        case "Hang":
          return
        case "Reset":
          req.socket.destroy()
          return
        case "TruncatedJson": {
          const text = JSON.stringify(completionBody("truncated", model)).slice(0, 40)
          res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
          res.end(text)
          return
        }
        case "CutMidBody": {
          const text = JSON.stringify(completionBody("cut", model))
          res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
          res.write(text.slice(0, 20), () => req.socket.destroy())
          return
        }
        case "MissingFields":
          return sendJson(res, 200, missingFieldsBody(path))
        case "Delayed": {
          const timer = setTimeout(() => {
            timers.delete(timer)
            respond(req, res, path, reply.reply)
          }, reply.delayMs)
          timers.add(timer)
          return
        }
      }
    }

    const onRequest = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const path = (req.url ?? "/").split("?")[0]!.replace(/^\/v1(?=\/)/, "")
        const text = Buffer.concat(chunks).toString("utf8")
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {
          // keep the raw text: a test may be checking a malformed request
        }
        const request: RecordedRequest = { method: req.method ?? "", path, headers: req.headers, body, receivedAtMs: Date.now() }
        recorded.push(request)
        if (req.method !== "POST" || (path !== "/chat/completions" && path !== "/embeddings")) {
          return sendJson(res, 404, { error: { message: `FakeLlmServer: no route ${req.method} ${path}` } })
        }
        const index = counts.get(path) ?? 0
        counts.set(path, index + 1)
        const reply = queues.get(path)?.shift() ?? handler(request, index)
        respond(req, res, path, reply)
      })
    }

    const server = yield* Effect.acquireRelease(
      Effect.async<Http.Server>((resume) => {
        const server = Http.createServer(onRequest)
        server.once("error", (error) => resume(Effect.die(error)))
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          for (const timer of timers) clearTimeout(timer)
          timers.clear()
          server.close(() => resume(Effect.void))
          // Hung and keep-alive connections would otherwise keep `close` waiting forever.
          server.closeAllConnections()
        })
    )

    const port = (server.address() as AddressInfo).port
    const scriptFor = (endpoint: FakeEndpoint, ...replies: ReadonlyArray<FakeReply>) =>
      Effect.sync(() => {
        const queue = queues.get(endpoint) ?? []
        queue.push(...replies)
        queues.set(endpoint, queue)
      })

    return {
      baseUrl: `http://127.0.0.1:${port}`,
      requests: Effect.sync(() => [...recorded]),
      script: (...replies) => scriptFor("/chat/completions", ...replies),
      scriptFor,
      setHandler: (next) =>
        Effect.sync(() => {
          handler = next
        })
    }
  })
