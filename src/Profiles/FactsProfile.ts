import type { ExplicitInfo, ProfileData } from "../Domain/TrackItems.js"
import type { FactRow, ForesightRow } from "../Extraction/DerivedRows.js"

/**
 * The offline profile: the user's atomic facts and foresight as explicit items, deduplicated
 * (case and spacing ignored), grouped by category, newest first within a category. No traits:
 * inferring one needs a model. Pure and linear in the (bounded) number of rows.
 */

/** Categories by the words a statement uses; first match wins, the rest is "other". */
const CATEGORIES: ReadonlyArray<readonly [string, RegExp]> = [
  ["work", /\b(work|works|worked|job|career|company|office|colleague|boss|startup|employ\w*|engineer|manager|salary|promot\w*)\b/i],
  ["education", /\b(school|university|college|degree|studies|studied|study|course|class|exam|student|phd|master'?s)\b/i],
  ["family and relationships", /\b(wife|husband|partner|girlfriend|boyfriend|mother|father|mom|dad|sister|brother|son|daughter|kids?|children|family|married|friends?)\b/i],
  ["home and places", /\b(live[sd]?|living|moved|move|home|house|apartment|flat|city|country|born|neighbou?rhood)\b/i],
  ["health", /\b(health|doctor|allerg\w*|diet|sick|illness|injur\w*|therapy|medication|sleep|vegetarian|vegan)\b/i],
  ["preferences", /\b(likes?|loves?|enjoys?|prefers?|favou?rite|hates?|dislikes?|fan of|into)\b/i],
  ["hobbies and activities", /\b(hobby|hobbies|plays?|playing|reads?|reading|runs?|running|hik\w*|cook\w*|paint\w*|travel\w*|music|guitar|piano|sports?|gym|games?)\b/i],
  ["pets", /\b(dog|cat|pet|puppy|kitten)\b/i]
]

export const categoryOf = (text: string): string => CATEGORIES.find(([, pattern]) => pattern.test(text))?.[0] ?? "other"

const normalized = (text: string) => text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim()

const SUMMARY_ITEMS = 3
const SUMMARY_MAX_CHARS = 400

export const factsProfile = (
  facts: ReadonlyArray<FactRow>,
  foresight: ReadonlyArray<ForesightRow>
): Omit<ProfileData, "profile_timestamp_ms"> => {
  const seen = new Set<string>()
  const items: Array<ExplicitInfo & { readonly at: number }> = []
  const add = (description: string, category: string, evidence: ReadonlyArray<string>, at: number) => {
    const key = normalized(description)
    if (key.length === 0 || seen.has(key)) return
    seen.add(key)
    items.push({ category, description, evidence, at })
  }
  const newestFirst = [...facts].sort((a, b) => b.timestamp - a.timestamp)
  for (const fact of newestFirst) add(fact.content, categoryOf(fact.content), fact.message_ids, fact.timestamp)
  for (const plan of [...foresight].sort((a, b) => b.timestamp - a.timestamp)) {
    add(plan.content, "plans", plan.message_ids, plan.timestamp)
  }
  // Categories in order of their newest item; items newest first within each.
  const order: Array<string> = []
  for (const item of items) if (!order.includes(item.category)) order.push(item.category)
  const grouped = order.flatMap((category) => items.filter((item) => item.category === category))
  const summary = items.slice(0, SUMMARY_ITEMS).map((item) => item.description.replace(/[.\s]+$/, "")).join("; ")
  return {
    summary: summary.length > SUMMARY_MAX_CHARS ? `${summary.slice(0, SUMMARY_MAX_CHARS - 1)}…` : summary,
    explicit_info: grouped.map(({ category, description, evidence }) => ({ category, description, evidence })),
    implicit_traits: []
  }
}
