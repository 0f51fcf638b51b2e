import { HttpClient, HttpClientRequest } from "@effect/platform"
import type { HttpClientError, HttpClientResponse } from "@effect/platform"
import { Clock, ConfigError, Duration, Effect, Either, Layer, Option, Random, Schema } from "effect"
import { type LlmSettings, LlmSettingsConfig } from "../Config/EngramConfig.js"
import { LlmUnavailable } from "../Domain/Errors.js"
import { formatParseIssues } from "./JsonAnswer.js"
import { type ChatRequest, type ChatResponse, LlmClient } from "./LlmClient.js"

/**
 * `LlmClient` for any OpenAI-compatible `POST {baseUrl}/chat/completions` (OpenAI, Ollama, vLLM,
 * OpenRouter, ...). Each HTTP attempt holds one permit of a shared semaphore and is bounded by
 * `settings.timeout`; transient failures are retried with jittered exponential backoff.
 */

export interface OpenAiLlmClientOptions {
  /** First backoff delay; doubles per retry. Default 500 ms (tests pass a few ms). */
  readonly retryBaseDelay?: Duration.DurationInput
  /** Upper bound for any wait between attempts, including a server's `Retry-After`. Default 30 s. */
  readonly maxRetryDelay?: Duration.DurationInput
}

// --- wire format -------------------------------------------------------------------------------

interface ChatCompletionRequestBody {
  readonly model: string
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content: string }>
  readonly temperature?: number
  readonly response_format?: { readonly type: "json_object" }
}

/** Only what Engram reads; servers add many more fields, which are ignored. */
const ChatCompletionResponse = Schema.Struct({
  model: Schema.optional(Schema.String),
  choices: Schema.NonEmptyArray(
    Schema.Struct({
      message: Schema.Struct({ content: Schema.String })
    })
  ),
  // Servers that count tokens say so here; a malformed count is ignored rather than failing the answer.
  usage: Schema.optional(Schema.Struct({
    prompt_tokens: Schema.optional(Schema.Unknown),
    completion_tokens: Schema.optional(Schema.Unknown)
  }))
})

const tokenCount = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined

const decodeCompletion = Schema.decodeUnknownEither(Schema.parseJson(ChatCompletionResponse))

// --- failure classification --------------------------------------------------------------------

/** Statuses worth another try: the server or something in between may recover. */
export const isRetryableStatus = (status: number): boolean =>
  status === 408 || status === 409 || status === 425 || status === 429 || status >= 500

/**
 * `Retry-After` as a delay: delta-seconds or an HTTP date (RFC 9110). `None` when absent or
 * unreadable; a date in the past is a zero delay.
 */
export const parseRetryAfter = (value: string | undefined, nowMs: number): Option.Option<Duration.Duration> => {
  if (value === undefined) return Option.none()
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Option.some(Duration.seconds(Number(trimmed)))
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? Option.none() : Option.some(Duration.millis(Math.max(0, date - nowMs)))
}

/** One failed attempt: the error to report, plus the server's wish for when to come back. */
interface AttemptFailure {
  readonly error: LlmUnavailable
  readonly retryAfter: Option.Option<Duration.Duration>
}

const attemptFailure = (error: LlmUnavailable, retryAfter = Option.none<Duration.Duration>()): AttemptFailure => ({
  error,
  retryAfter
})

const fromHttpClientError = (error: HttpClientError.HttpClientError): AttemptFailure => {
  if (error._tag === "RequestError") {
    // Transport = refused, reset, DNS...: transient. Encode / InvalidUrl are our own bugs.
    const retryable = error.reason === "Transport"
    return attemptFailure(
      new LlmUnavailable({ reason: `request failed (${error.reason}): ${describeCause(error)}`, retryable })
    )
  }
  // Reading the body failed mid-way: the connection broke, so try again.
  return attemptFailure(
    new LlmUnavailable({
      reason: `reading the response failed (${error.reason}): ${describeCause(error)}`,
      status: error.response.status,
      retryable: true
    })
  )
}

const describeCause = (error: HttpClientError.HttpClientError): string => {
  const cause = error.cause
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause
    return inner instanceof Error ? `${cause.message}: ${inner.message}` : cause.message
  }
  return error.description ?? "no details"
}

/** The first part of an error body, which usually says what the server disliked. */
const errorSnippet = (body: string): string => {
  const flat = body.replace(/\s+/g, " ").trim()
  return flat.length > 300 ? `${flat.slice(0, 300)}...` : flat
}

// --- client ------------------------------------------------------------------------------------

export const makeOpenAiLlmClient = (settings: LlmSettings, options: OpenAiLlmClientOptions = {}) =>
  Effect.gen(function*() {
    const httpClient = yield* HttpClient.HttpClient
    // Shared by every call through this client: caps load on the model server.
    const permits = yield* Effect.makeSemaphore(settings.maxConcurrency)
    const retryBaseMs = Duration.toMillis(options.retryBaseDelay ?? "500 millis")
    const maxRetryDelay = Duration.decode(options.maxRetryDelay ?? "30 seconds")
    const endpoint = `${settings.baseUrl.replace(/\/+$/, "")}/chat/completions`
    const timeoutMs = Duration.toMillis(settings.timeout)

    const buildRequest = (request: ChatRequest): HttpClientRequest.HttpClientRequest => {
      const body: ChatCompletionRequestBody = {
        model: settings.model,
        messages: request.messages.map(({ content, role }) => ({ role, content })),
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
        ...(request.json === true ? { response_format: { type: "json_object" } as const } : {})
      }
      const base = HttpClientRequest.post(endpoint).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyUnsafeJson(body)
      )
      // The key stays Redacted all the way into the header; the platform redacts it in traces.
      return Option.match(settings.apiKey, {
        onNone: () => base,
        onSome: (key) => HttpClientRequest.bearerToken(base, key)
      })
    }

    const readAnswer = (
      response: HttpClientResponse.HttpClientResponse
    ): Effect.Effect<ChatResponse, AttemptFailure> =>
      Effect.gen(function*() {
        if (response.status < 200 || response.status >= 300) {
          // The body only adds detail to the reason; failing to read it must not change the verdict.
          const text = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
          const retryable = isRetryableStatus(response.status)
          const retryAfter = response.status === 429 || response.status === 503
            ? parseRetryAfter(response.headers["retry-after"], yield* Clock.currentTimeMillis)
            : Option.none()
          return yield* Effect.fail(attemptFailure(
            new LlmUnavailable({
              reason: `server answered ${response.status}${text.length > 0 ? `: ${errorSnippet(text)}` : ""}`,
              status: response.status,
              retryable
            }),
            retryAfter
          ))
        }
        const body = yield* response.text.pipe(Effect.mapError(fromHttpClientError))
        const decoded = decodeCompletion(body)
        if (Either.isLeft(decoded)) {
          // A complete but unusable 2xx answer is a server/model problem, not a transient one.
          return yield* Effect.fail(attemptFailure(
            new LlmUnavailable({
              reason: `malformed completion (expected choices[0].message.content to be a string): ${
                formatParseIssues(decoded.left)
              }`,
              status: response.status,
              retryable: false
            })
          ))
        }
        const { choices, model, usage } = decoded.right
        const answer: ChatResponse = { content: choices[0].message.content, model: model ?? settings.model }
        return usage === undefined ? answer : {
          ...answer,
          usage: { promptTokens: tokenCount(usage.prompt_tokens), completionTokens: tokenCount(usage.completion_tokens) }
        }
      })

    /** One HTTP exchange, bounded by the timeout and holding one permit for its whole duration. */
    const attemptOnce = (httpRequest: HttpClientRequest.HttpClientRequest): Effect.Effect<ChatResponse, AttemptFailure> =>
      httpClient.execute(httpRequest).pipe(
        Effect.mapError(fromHttpClientError),
        Effect.flatMap(readAnswer),
        Effect.timeoutFail({
          duration: settings.timeout,
          onTimeout: () =>
            attemptFailure(new LlmUnavailable({ reason: `no answer within ${timeoutMs} ms`, retryable: true }))
        }),
        permits.withPermits(1)
      )

    /** Equal jitter: half the exponential delay is fixed, half random, so retries spread out. */
    const backoff = (retry: number) =>
      Random.next.pipe(
        Effect.map((r) => {
          const exponential = Math.min(Duration.toMillis(maxRetryDelay), retryBaseMs * 2 ** retry)
          return Duration.millis(exponential / 2 + (exponential / 2) * r)
        })
      )

    const chat = Effect.fn("OpenAiLlmClient.chat")(function*(request: ChatRequest) {
      yield* Effect.annotateCurrentSpan({ "engram.purpose": request.purpose, "llm.model": settings.model })
      const httpRequest = buildRequest(request)
      for (let retry = 0;; retry++) {
        const result = yield* Effect.either(attemptOnce(httpRequest))
        if (Either.isRight(result)) {
          yield* Effect.annotateCurrentSpan({ "llm.attempts": retry + 1 })
          return result.right
        }
        const { error, retryAfter } = result.left
        if (!error.retryable || retry >= settings.maxRetries) {
          yield* Effect.annotateCurrentSpan({ "llm.attempts": retry + 1 })
          return yield* error
        }
        const delay = Option.isSome(retryAfter)
          ? Duration.min(retryAfter.value, maxRetryDelay)
          : yield* backoff(retry)
        // Never log the prompt or the key: only what failed and when we try again.
        yield* Effect.logWarning("LLM call failed; retrying").pipe(
          Effect.annotateLogs({
            purpose: request.purpose,
            attempt: retry + 1,
            reason: error.reason,
            retry_in_ms: Math.round(Duration.toMillis(delay))
          })
        )
        yield* Effect.sleep(delay)
      }
    })

    return LlmClient.of({ model: settings.model, chat })
  })

export const OpenAiLlmClient = {
  /** Needs an `HttpClient` (production: `NodeHttpClient.layerUndici`). */
  layer: (settings: LlmSettings, options?: OpenAiLlmClientOptions): Layer.Layer<LlmClient, never, HttpClient.HttpClient> =>
    Layer.effect(LlmClient, makeOpenAiLlmClient(settings, options)),
  /**
   * Reads `LlmSettingsConfig`. When no model is configured this layer must not be used (the
   * caller picks the offline mode instead), so `None` is a configuration error here.
   */
  layerConfig: (
    options?: OpenAiLlmClientOptions
  ): Layer.Layer<LlmClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
    Layer.effect(
      LlmClient,
      Effect.flatMap(
        LlmSettingsConfig,
        Option.match({
          onNone: () =>
            Effect.fail(
              ConfigError.MissingData(
                ["ENGRAM", "LLM_BASE_URL"],
                "OpenAiLlmClient needs ENGRAM_LLM_BASE_URL and ENGRAM_LLM_MODEL; without them use the offline mode"
              )
            ),
          onSome: (settings) => makeOpenAiLlmClient(settings, options)
        })
      )
    )
} as const
