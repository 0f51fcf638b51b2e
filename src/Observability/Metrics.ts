import { Metric, MetricBoundaries } from "effect"

/**
 * Metric keys of the whole program. Effect keeps their state in its metric registry; `/metrics`
 * renders a snapshot in the Prometheus text format.
 */
export const httpRequests = Metric.counter("engram_http_requests_total", {
  description: "HTTP requests answered, by route and status",
  incremental: true
})

export const httpRequestDuration = Metric.histogram(
  "engram_http_request_duration_seconds",
  MetricBoundaries.exponential({ start: 0.0005, factor: 2, count: 16 }),
  "HTTP request latency by route"
)

export const llmCalls = Metric.counter("engram_llm_calls_total", {
  description: "LLM calls made, by purpose",
  incremental: true
})

export const llmFailures = Metric.counter("engram_llm_failures_total", {
  description: "LLM calls that failed after retries, by purpose and reason",
  incremental: true
})

export const llmPromptTokens = Metric.counter("engram_llm_prompt_tokens_total", {
  description: "Prompt tokens of successful LLM calls, by purpose; source=provider when the answer's usage gave them, estimated (cl100k of what was sent) otherwise",
  incremental: true
})

export const llmCompletionTokens = Metric.counter("engram_llm_completion_tokens_total", {
  description: "Completion tokens of successful LLM calls, by purpose; source=provider when the answer's usage gave them, estimated (cl100k of the answer) otherwise",
  incremental: true
})
