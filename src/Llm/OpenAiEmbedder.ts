import { HttpClient, HttpClientRequest } from "@effect/platform"
import type { HttpClientError, HttpClientResponse } from "@effect/platform"
import { Clock, Duration, Effect, Either, Layer, Option, Random, Schema } from "effect"
import type { EmbedderSettings } from "../Config/EngramConfig.js"
import { Embedder, EmbedderUnavailable } from "./Embedder.js"
import { formatParseIssues } from "./JsonAnswer.js"
import { cachedQueries } from "./QueryCache.js"
import { isRetryableStatus, parseRetryAfter } from "./OpenAiLlmClient.js"

/**
 * `Embedder` for any OpenAI-compatible `POST {baseUrl}/embeddings` (OpenAI, Ollama, vLLM, TEI,
 * LM Studio, ...). Texts go in batches of `batchSize`; each HTTP attempt holds one permit of a
 * semaphore shared by every caller (`maxConcurrency`) and is bounded by `timeout`; transient
 * failures are retried with jittered exponential backoff (honouring `Retry-After`) at most
 * `maxRetries` times. A 200 that is not exactly one vector of the configured width per text
 * (an empty `data` array included) is an error, never a silently short answer.
 */

export interface OpenAiEmbedderOptions {
  /** First backoff delay; doubles per retry. Default 500 ms (tests pass a few ms). */
  readonly retryBaseDelay?: Duration.DurationInput
  /** Upper bound for any wait between attempts, including a server's `Retry-After`. Default 30 s. */
  readonly maxRetryDelay?: Duration.DurationInput
}

/** Only what Engram reads; `index` is optional because some servers omit it (then order counts). */
const EmbeddingsResponse = Schema.Struct({
  data: Schema.Array(Schema.Struct({ index: Schema.optional(Schema.Number), embedding: Schema.Array(Schema.Number) }))
})
const decodeEmbeddings = Schema.decodeUnknownEither(Schema.parseJson(EmbeddingsResponse))

/** Embedding APIs reject empty inputs; a blank text still deserves a (meaningless) vector. */
const nonEmpty = (text: string) => (text.trim().length === 0 ? "(empty)" : text)

interface AttemptFailure {
  readonly error: EmbedderUnavailable
  readonly retryAfter: Option.Option<Duration.Duration>
}

const failure = (error: EmbedderUnavailable, retryAfter = Option.none<Duration.Duration>()): AttemptFailure => ({
  error,
  retryAfter
})

const describeCause = (error: HttpClientError.HttpClientError): string =>
  error.cause instanceof Error ? error.cause.message : error.description ?? "no details"

const fromHttpClientError = (error: HttpClientError.HttpClientError): AttemptFailure =>
  error._tag === "RequestError"
    ? failure(new EmbedderUnavailable({
      reason: `request failed (${error.reason}): ${describeCause(error)}`,
      retryable: error.reason === "Transport"
    }))
    : failure(new EmbedderUnavailable({
      reason: `reading the response failed (${error.reason}): ${describeCause(error)}`,
      status: error.response.status,
      retryable: true
    }))

const snippet = (body: string): string => {
  const flat = body.replace(/\s+/g, " ").trim()
  return flat.length > 300 ? `${flat.slice(0, 300)}...` : flat
}

/** The vectors of one answer, in input order, or why the answer is unusable (not retryable). */
export const vectorsOfAnswer = (body: string, expected: number, dimensions: number): Either.Either<ReadonlyArray<Float32Array>, string> => {
  const decoded = decodeEmbeddings(body)
  if (Either.isLeft(decoded)) return Either.left(`malformed embeddings answer: ${formatParseIssues(decoded.left)}`)
  const data = decoded.right.data
  if (data.length !== expected) return Either.left(`answer has ${data.length} embeddings for ${expected} inputs`)
  const ordered = data.every((item) => item.index !== undefined)
    ? [...data].sort((a, b) => a.index! - b.index!)
    : data
  const vectors: Array<Float32Array> = []
  for (const [position, item] of ordered.entries()) {
    if (item.index !== undefined && item.index !== position) return Either.left(`answer has no embedding for input ${position}`)
    if (item.embedding.length !== dimensions) {
      return Either.left(`embedding ${position} has ${item.embedding.length} dimensions, expected ${dimensions} (ENGRAM_EMBED_DIMENSIONS)`)
    }
    if (!item.embedding.every(Number.isFinite)) return Either.left(`embedding ${position} holds a non-finite number`)
    vectors.push(Float32Array.from(item.embedding))
  }
  return Either.right(vectors)
}

export const makeOpenAiEmbedder = (settings: EmbedderSettings, options: OpenAiEmbedderOptions = {}) =>
  Effect.gen(function*() {
    const httpClient = yield* HttpClient.HttpClient
    const permits = yield* Effect.makeSemaphore(settings.maxConcurrency)
    const endpoint = `${settings.baseUrl}/embeddings`
    const retryBaseMs = Duration.toMillis(options.retryBaseDelay ?? "500 millis")
    const maxRetryDelay = Duration.decode(options.maxRetryDelay ?? "30 seconds")
    const timeoutMs = Duration.toMillis(settings.timeout)

    const buildRequest = (texts: ReadonlyArray<string>) => {
      const base = HttpClientRequest.post(endpoint).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyUnsafeJson({ model: settings.model, input: texts.map(nonEmpty) })
      )
      return Option.match(settings.apiKey, { onNone: () => base, onSome: (key) => HttpClientRequest.bearerToken(base, key) })
    }

    const readAnswer = (response: HttpClientResponse.HttpClientResponse, count: number) =>
      Effect.gen(function*() {
        if (response.status < 200 || response.status >= 300) {
          const text = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
          const retryAfter = response.status === 429 || response.status === 503
            ? parseRetryAfter(response.headers["retry-after"], yield* Clock.currentTimeMillis)
            : Option.none()
          return yield* Effect.fail(failure(
            new EmbedderUnavailable({
              reason: `server answered ${response.status}${text.length > 0 ? `: ${snippet(text)}` : ""}`,
              status: response.status,
              retryable: isRetryableStatus(response.status)
            }),
            retryAfter
          ))
        }
        const body = yield* response.text.pipe(Effect.mapError(fromHttpClientError))
        const vectors = vectorsOfAnswer(body, count, settings.dimensions)
        if (Either.isLeft(vectors)) {
          return yield* Effect.fail(failure(new EmbedderUnavailable({ reason: vectors.left, status: response.status, retryable: false })))
        }
        return vectors.right
      })

    const attemptOnce = (texts: ReadonlyArray<string>) =>
      httpClient.execute(buildRequest(texts)).pipe(
        Effect.mapError(fromHttpClientError),
        Effect.flatMap((response) => readAnswer(response, texts.length)),
        Effect.timeoutFail({
          duration: settings.timeout,
          onTimeout: () => failure(new EmbedderUnavailable({ reason: `no answer within ${timeoutMs} ms`, retryable: true }))
        }),
        permits.withPermits(1)
      )

    const backoff = (retry: number) =>
      Effect.map(Random.next, (r) => {
        const exponential = Math.min(Duration.toMillis(maxRetryDelay), retryBaseMs * 2 ** retry)
        return Duration.millis(exponential / 2 + (exponential / 2) * r)
      })

    /** One batch with its retries; the semaphore is not held while backing off. */
    const embedBatch = (texts: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        for (let retry = 0;; retry++) {
          const result = yield* Effect.either(attemptOnce(texts))
          if (Either.isRight(result)) return result.right
          const { error, retryAfter } = result.left
          if (!error.retryable || retry >= settings.maxRetries) return yield* error
          const delay = Option.isSome(retryAfter) ? Duration.min(retryAfter.value, maxRetryDelay) : yield* backoff(retry)
          yield* Effect.logWarning("embedding call failed; retrying").pipe(
            Effect.annotateLogs({ attempt: retry + 1, reason: error.reason, retry_in_ms: Math.round(Duration.toMillis(delay)) })
          )
          yield* Effect.sleep(delay)
        }
      })

    const embed = Effect.fn("OpenAiEmbedder.embed")(function*(texts: ReadonlyArray<string>) {
      yield* Effect.annotateCurrentSpan({ "embed.model": settings.model, "embed.texts": texts.length })
      if (texts.length === 0) return []
      const batches: Array<ReadonlyArray<string>> = []
      for (let start = 0; start < texts.length; start += settings.batchSize) {
        batches.push(texts.slice(start, start + settings.batchSize))
      }
      const results = yield* Effect.forEach(batches, embedBatch, { concurrency: settings.maxConcurrency })
      return results.flat()
    })

    const embedQuery = yield* cachedQueries((query) => Effect.map(embed([query]), (vectors) => vectors[0]!))

    return Embedder.of({ model: settings.model, dimensions: settings.dimensions, embed, embedQuery })
  })

export const OpenAiEmbedder = {
  /** Needs an `HttpClient` (production: `NodeHttpClient.layerUndici`). */
  layer: (settings: EmbedderSettings, options?: OpenAiEmbedderOptions): Layer.Layer<Embedder, never, HttpClient.HttpClient> =>
    Layer.effect(Embedder, makeOpenAiEmbedder(settings, options))
} as const
