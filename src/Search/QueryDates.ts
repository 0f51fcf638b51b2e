/**
 * Calendar dates a query names ("on March 16, 2022", "in August 2023", "3 June, 2023",
 * "2023-05-08"), so search can prefer what was said then: evidence lines carry their day, and a
 * question anchored on a date often shares no other word with the answer ("How was John feeling on
 * April 10, 2022?"). English month names only; relative phrases ("last week") and seasons are not
 * read. "May" counts only with a day or a year next to it (it is also a verb). Pure.
 */
import { englishMonth } from "../Text/EnglishMonths.js"

/** A day (`day` set) or a whole month; without `year`, that day or month of any year. */
export interface DateMention {
  readonly year: number | undefined
  readonly month: number
  readonly day: number | undefined
}

/** Full names and the usual abbreviations ("Sept", "Sep", "Aug"), longest first for the alternation. */
const MONTH_NAME = "(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
const DAY = String.raw`(\d{1,2})(?:st|nd|rd|th)?`
const YEAR = String.raw`((?:19|20)\d{2})`

/** The patterns only match month names, so the lookup always answers. */
const monthOf = (name: string): number => englishMonth(name) ?? 0

const PATTERNS: ReadonlyArray<{ readonly re: RegExp; readonly read: (m: RegExpExecArray) => DateMention }> = [
  // 2023-05-08
  { re: /\b((?:19|20)\d{2})-(\d{2})-(\d{2})\b/g, read: (m) => ({ year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) }) },
  // March 16, 2022 / March 16 2022 / March 16
  {
    re: new RegExp(String.raw`\b${MONTH_NAME}\.?\s+${DAY}\b(?:,?\s+${YEAR}\b)?`, "gi"),
    read: (m) => ({ year: m[3] === undefined ? undefined : Number(m[3]), month: monthOf(m[1]!), day: Number(m[2]) })
  },
  // 16 March 2022 / 3 June, 2023 / 16 March
  {
    re: new RegExp(String.raw`\b${DAY}\s+(?:of\s+)?${MONTH_NAME}\b\.?(?:,?\s+${YEAR}\b)?`, "gi"),
    read: (m) => ({ year: m[3] === undefined ? undefined : Number(m[3]), month: monthOf(m[2]!), day: Number(m[1]) })
  },
  // August 2023 / in July (not "may" alone)
  {
    re: new RegExp(String.raw`\b${MONTH_NAME}\b\.?(?:,?\s+${YEAR}\b)?`, "gi"),
    read: (m) => ({ year: m[2] === undefined ? undefined : Number(m[2]), month: monthOf(m[1]!), day: undefined })
  }
]

const valid = (d: DateMention) =>
  d.month >= 1 && d.month <= 12 && (d.day === undefined || (d.day >= 1 && d.day <= 31))

/** The dates `query` names, each once, a day before the month it falls in. */
export const queryDates = (query: string): ReadonlyArray<DateMention> => {
  const found: Array<DateMention> = []
  const taken: Array<readonly [number, number]> = []
  const overlaps = (start: number, end: number) => taken.some(([s, e]) => start < e && s < end)
  for (const { re, read } of PATTERNS) {
    re.lastIndex = 0
    for (let m = re.exec(query); m !== null; m = re.exec(query)) {
      const start = m.index
      const end = start + m[0].length
      if (overlaps(start, end)) continue
      const mention = read(m)
      // A lone "may" is the verb.
      if (mention.day === undefined && mention.year === undefined && /^may$/i.test(m[0].trim())) continue
      if (!valid(mention)) continue
      taken.push([start, end])
      if (!found.some((f) => f.year === mention.year && f.month === mention.month && f.day === mention.day)) found.push(mention)
    }
  }
  return found
}

/** Whether a UTC day (`YYYY-MM-DD`, as evidence lines show it) falls on or in a mention. */
export const dayMatches = (mentions: ReadonlyArray<DateMention>, day: string): boolean => {
  const year = Number(day.slice(0, 4))
  const month = Number(day.slice(5, 7))
  const date = Number(day.slice(8, 10))
  return mentions.some((m) => (m.year === undefined || m.year === year) && m.month === month && (m.day === undefined || m.day === date))
}

/** UTC [start, end) epoch-ms ranges of the mentions that name a year (the ones an index range can find). */
export const mentionRanges = (mentions: ReadonlyArray<DateMention>): ReadonlyArray<readonly [number, number]> =>
  mentions.flatMap((m) =>
    m.year === undefined
      ? []
      : m.day === undefined
      ? [[Date.UTC(m.year, m.month - 1, 1), Date.UTC(m.year, m.month, 1)] as const]
      : [[Date.UTC(m.year, m.month - 1, m.day), Date.UTC(m.year, m.month - 1, m.day + 1)] as const]
  )
