import { Metric, MetricState, Option } from "effect"
import type { MetricPair } from "effect"

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

const labels = (tags: ReadonlyArray<{ key: string; value: string }>, extra: ReadonlyArray<[string, string]> = []) => {
  const all = [...tags.map((t) => [t.key, t.value] as const), ...extra]
  return all.length === 0 ? "" : `{${all.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`
}

/** Renders Effect metric snapshots in the Prometheus text exposition format (0.0.4). */
export const renderPrometheus = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const byName = new Map<string, Array<MetricPair.MetricPair.Untyped>>()
  for (const pair of pairs) {
    const list = byName.get(pair.metricKey.name) ?? []
    list.push(pair)
    byName.set(pair.metricKey.name, list)
  }
  const lines: Array<string> = []
  for (const [name, series] of [...byName.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const first = series[0]!
    const description = Option.getOrElse(first.metricKey.description, () => "")
    const state = first.metricState
    const type = MetricState.isCounterState(state) ? "counter" : MetricState.isHistogramState(state) ? "histogram" : "gauge"
    if (description.length > 0) lines.push(`# HELP ${name} ${description}`)
    lines.push(`# TYPE ${name} ${type}`)
    for (const pair of series) {
      const tags = pair.metricKey.tags
      const s = pair.metricState
      if (MetricState.isCounterState(s)) lines.push(`${name}${labels(tags)} ${Number(s.count)}`)
      else if (MetricState.isGaugeState(s)) lines.push(`${name}${labels(tags)} ${Number(s.value)}`)
      else if (MetricState.isHistogramState(s)) {
        for (const [bound, count] of s.buckets) {
          lines.push(`${name}_bucket${labels(tags, [["le", Number.isFinite(bound) ? String(bound) : "+Inf"]])} ${count}`)
        }
        if (!s.buckets.some(([bound]) => !Number.isFinite(bound))) {
          lines.push(`${name}_bucket${labels(tags, [["le", "+Inf"]])} ${s.count}`)
        }
        lines.push(`${name}_sum${labels(tags)} ${s.sum}`)
        lines.push(`${name}_count${labels(tags)} ${s.count}`)
      }
    }
  }
  return lines.join("\n") + "\n"
}

/** Current values of every registered metric. */
export const metricsSnapshot = Metric.snapshot
