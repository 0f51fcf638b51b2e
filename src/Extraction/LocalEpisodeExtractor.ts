/**
 * # Local episode extractor
 *
 * The offline `EpisodeExtractor` ("local"): one episode per user sender of the cell, built by
 * rearranging the cell's own words, never inventing any.
 *
 * - `content`: the whole cell as a third-person transcript with dates: `On 2024-05-06 20:00 UTC,
 *   Alice said: "…"` then `The assistant replied: "…"`. Every user and assistant message appears
 *   with its full text (a date prefix opens the cell and any message after a new day or an hour's
 *   silence); tool calls and tool results are summarised in one short line each
 *   (`(tool get_weather returned: …)`), attachments are named (`(Alice attached image_url)`).
 *   A message over 32,000 characters shows its beginning (`clipLongText`).
 *   Senders are called by `sender_name`, else by id; an assistant without a name is "The assistant".
 * - `title`: the three most salient words of the cell. Each `Lexicon` term is weighted like
 *   tf-idf inside the cell: the summed `1 + ln tf` of the messages that use it (user messages count
 *   fully, the episode's own user's a little more, assistant messages half), times
 *   `ln(1 + N / df)` over the cell's N messages, which favours words several messages share
 *   without letting one that every message repeats win outright. Capitalised words that are never
 *   seen in lower case (names, places) count 1.5×; chat filler ("thanks", "sounds", "help"), weekday and
 *   month names, and the participants' names are left out. Terms are shown as their most common
 *   written form.
 * - `summary`: `On 2024-05-06, Alice talked about Lisbon, fado and Alfama.` followed by the
 *   episode user's first informative sentences (3+ content terms, no greetings), first-person
 *   ones restated in the third person, questions as `Alice asked: "…"`; the assistant's when the
 *   user said nothing informative. Capped at 400 characters at a sentence boundary (`capSummary`).
 *
 * Limits: this is extraction, not understanding. Every user of a multi-user cell gets the same
 * transcript and title (only the summary's sentences change), the summary picks the first
 * informative sentences rather than the most important ones, the "idf" is computed inside one
 * cell, so with no corpus a word rare in general but common in the cell is not boosted, and
 * stemming is English-only (see `Lexicon`). The transcript grows with the cell: a long cell gives
 * a long episode. Pure and never fails.
 */
import { Effect } from "effect"
import type { StoredMessage } from "../Domain/Message.js"
import { makeZonedCalendar, type ZonedCalendar } from "../Text/Calendar.js"
import { clipLongText } from "../Text/Clip.js"
import { Lexicon } from "../Text/Lexicon.js"
import { hasFirstPerson, isGreeting, isQuestion, toThirdPerson } from "./EnglishFirstPerson.js"
import {
  attachmentTypes,
  brief,
  capSummary,
  type EpisodeDraft,
  EpisodeExtractor,
  type ExtractorOptions,
  formatWallTime,
  labelOfSender,
  type MemcellInput,
  analyzedText,
  safeText,
  senderLabel,
  SUMMARY_MAX_CHARS,
  toolCallsOf,
  toolNameOf,
  toolPhrase,
  userSenders
} from "./Extractors.js"
import { annotateExtraction } from "./ExtractorLayers.js"

type TextAnalysis = Pick<Lexicon, "terms" | "sentences">

/** A silence this long (ms) earns the next message a fresh date prefix. */
const TIME_PREFIX_GAP_MS = 60 * 60 * 1000
const TOOL_RESULT_CHARS = 160
const TOOL_ARGUMENT_CHARS = 120
const TITLE_TERMS = 3
/** Sentences with fewer content terms ("ok, thanks!") say too little for a summary. */
const MIN_SUMMARY_TERMS = 3

const ASSISTANT_WEIGHT = 0.5
const OWN_USER_WEIGHT = 1.2
const PROPER_NOUN_BOOST = 1.5

/** Words every chat has; they make poor titles. Stemmed by the Lexicon when a layer is built. */
const FILLER_WORDS =
  "thanks thank please sure yes yeah yep okay ok hi hello hey good great nice cool awesome perfect lovely " +
  "want need like know think go get make let look sound sounds help question answer tell say thing lot bit " +
  "way time day really also just well right maybe idea point quick glad happy welcome wonderful fine " +
  // Dates are in the content already; as title words they say little.
  "monday tuesday wednesday thursday friday saturday sunday today tomorrow tonight week weekend month year " +
  "january february march april may june july august september october november december"

const WORD = /[\p{L}\p{N}]+(?:['\u2019-][\p{L}\p{N}]+)*/gu

// ---------------------------------------------------------------------------------------------
// Transcript
// ---------------------------------------------------------------------------------------------

const isAssistantUnnamed = (message: StoredMessage): boolean =>
  message.role === "assistant" && (typeof message.sender_name !== "string" || message.sender_name.trim().length === 0)

const subjectOf = (message: StoredMessage): string => isAssistantUnnamed(message) ? "The assistant" : senderLabel(message)

/** The article of "The assistant" is lower-cased after a date prefix. */
const inSentence = (subject: string, prefixed: boolean): string =>
  prefixed && subject === "The assistant" ? "the assistant" : subject

const lineOf = (message: StoredMessage, previous: StoredMessage | undefined, all: ReadonlyArray<StoredMessage>) => {
  const text = clipLongText(safeText(message.content))
  if (message.role === "tool") {
    const result = text.trim()
    const name = toolNameOf(message, all)
    return (_: boolean) =>
      result.length > 0
        ? `(tool ${name} returned: ${brief(result, TOOL_RESULT_CHARS)})`
        : `(tool ${name} returned no text)`
  }
  return (prefixed: boolean) => {
    const subject = inSentence(subjectOf(message), prefixed)
    const parts: Array<string> = []
    if (text.trim().length > 0) {
      const verb = message.role === "assistant"
        ? previous !== undefined && previous.role === "user" ? "replied" : "said"
        : isQuestion(text.trim().split(/\n/).pop() ?? "") ? "asked" : "said"
      parts.push(`${subject} ${verb}: "${text}"`)
    }
    const calls = toolCallsOf(message)
    for (const call of calls) {
      const args = call.arguments.trim().length > 0 ? ` with ${brief(call.arguments, TOOL_ARGUMENT_CHARS)}` : ""
      const what = toolPhrase(call.name)
      parts.push(parts.length === 0 ? `${subject} called ${what}${args}.` : `(called ${what}${args})`)
    }
    for (const type of attachmentTypes(message.content)) {
      parts.push(parts.length === 0 ? `${subject} attached ${type}.` : `(${subjectOf(message)} attached ${type})`)
    }
    if (parts.length === 0) parts.push(`${subject} sent a message without text.`)
    return parts.join(" ")
  }
}

/** The cell in the third person, one line per message, dated at the start and after silences. */
export const renderTranscript = (input: MemcellInput, calendar: ZonedCalendar): string => {
  const lines: Array<string> = []
  let previous: StoredMessage | undefined
  let previousChat: StoredMessage | undefined
  for (const message of input.messages) {
    const needsPrefix = previous === undefined ||
      calendar.date(previous.timestamp) !== calendar.date(message.timestamp) ||
      message.timestamp - previous.timestamp >= TIME_PREFIX_GAP_MS
    const line = lineOf(message, previousChat, input.messages)(needsPrefix)
    lines.push(needsPrefix ? `On ${formatWallTime(calendar, message.timestamp)}, ${line}` : line)
    previous = message
    if (message.role !== "tool") previousChat = message
  }
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// Title: salient terms
// ---------------------------------------------------------------------------------------------

interface TermStat {
  weight: number
  df: number
  readonly variants: Map<string, number>
  capitalisedInside: boolean
  lowercaseSeen: boolean
  readonly order: number
}

const sentenceInitial = (text: string, index: number): boolean => {
  const before = text.slice(0, index).trimEnd()
  return before.length === 0 || /[.!?:;"“(\n\u3002\uff01\uff1f]$/u.test(before)
}

/** The `count` most salient words of the cell for `sender`, as written. */
export const salientWords = (
  lexicon: TextAnalysis,
  filler: ReadonlySet<string>,
  input: MemcellInput,
  sender: string,
  count: number = TITLE_TERMS
): ReadonlyArray<string> => {
  const excluded = new Set<string>(filler)
  for (const message of input.messages) for (const t of lexicon.terms(senderLabel(message))) excluded.add(t)
  const stats = new Map<string, TermStat>()
  let documents = 0
  for (const message of input.messages) {
    if (message.role === "tool") continue
    const text = analyzedText(message.content)
    const counts = new Map<string, number>()
    for (const term of lexicon.terms(text)) counts.set(term, (counts.get(term) ?? 0) + 1)
    if (counts.size === 0) continue
    documents++
    const roleWeight = message.role === "assistant" ? ASSISTANT_WEIGHT : message.sender_id === sender ? OWN_USER_WEIGHT : 1
    for (const [term, tf] of counts) {
      let stat = stats.get(term)
      if (stat === undefined) {
        stat = { weight: 0, df: 0, variants: new Map(), capitalisedInside: false, lowercaseSeen: false, order: stats.size }
        stats.set(term, stat)
      }
      stat.weight += roleWeight * (1 + Math.log(tf))
      stat.df++
    }
    // Map terms back to the words that produced them.
    for (const match of text.matchAll(WORD)) {
      const word = match[0]
      const wordTerms = lexicon.terms(word)
      if (wordTerms.length !== 1) continue
      const stat = stats.get(wordTerms[0]!)
      if (stat === undefined) continue
      stat.variants.set(word, (stat.variants.get(word) ?? 0) + 1)
      const capitalised = word[0] !== word[0]!.toLowerCase()
      if (!capitalised) stat.lowercaseSeen = true
      else if (!sentenceInitial(text, match.index)) stat.capitalisedInside = true
    }
  }
  const scored = Array.from(stats)
    .filter(([term]) => !excluded.has(term))
    .map(([term, stat]) => {
      const idf = Math.log(1 + documents / stat.df)
      const boost = stat.capitalisedInside && !stat.lowercaseSeen && term.length >= 3 ? PROPER_NOUN_BOOST : 1
      return { term, stat, score: stat.weight * idf * boost }
    })
  scored.sort((a, b) => b.score - a.score || a.stat.order - b.stat.order)
  return scored.slice(0, count).map(({ stat, term }) => surfaceOf(stat) ?? term)
}

/** The most common written form, in lower case unless the word is only ever capitalised. */
const surfaceOf = (stat: TermStat): string | undefined => {
  let best: string | undefined
  let bestCount = 0
  for (const [variant, n] of stat.variants) {
    const form = stat.lowercaseSeen ? variant.toLowerCase() : variant
    if (n > bestCount) {
      best = form
      bestCount = n
    }
  }
  return best
}

const listPhrase = (words: ReadonlyArray<string>): string =>
  words.length <= 1 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`

const capitaliseFirst = (text: string): string => text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1)

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

const dateSpan = (input: MemcellInput, calendar: ZonedCalendar): string => {
  const first = input.messages[0]
  const last = input.messages[input.messages.length - 1]
  const from = calendar.date(first?.timestamp ?? input.memcell.timestamp)
  const to = calendar.date(last?.timestamp ?? input.memcell.timestamp)
  return from === to ? `On ${from}` : `Between ${from} and ${to}`
}

const informativeSentences = (
  lexicon: TextAnalysis,
  messages: ReadonlyArray<StoredMessage>,
  render: (sentence: string) => string
): ReadonlyArray<string> => {
  const out: Array<string> = []
  let length = 0
  for (const message of messages) {
    for (const sentence of lexicon.sentences(analyzedText(message.content))) {
      if (length > SUMMARY_MAX_CHARS) return out
      if (isGreeting(sentence) || lexicon.terms(sentence).length < MIN_SUMMARY_TERMS) continue
      const rendered = render(sentence)
      out.push(rendered)
      length += rendered.length + 1
    }
  }
  return out
}

const userSentence = (name: string) => (sentence: string): string =>
  isQuestion(sentence)
    ? `${name} asked: "${sentence}"`
    : hasFirstPerson(sentence)
    ? toThirdPerson(sentence, name)
    : `${name} said: "${sentence}"`

export const summarize = (
  lexicon: TextAnalysis,
  calendar: ZonedCalendar,
  input: MemcellInput,
  sender: string,
  topics: ReadonlyArray<string>
): string => {
  const name = labelOfSender(input, sender)
  const lead = topics.length > 0
    ? `${dateSpan(input, calendar)}, ${name} talked about ${listPhrase(topics)}.`
    : `${dateSpan(input, calendar)}, ${name} had a conversation.`
  const own = input.messages.filter((m) => m.role === "user" && m.sender_id === sender)
  let sentences = informativeSentences(lexicon, own, userSentence(name))
  if (sentences.length === 0) {
    const assistant = input.messages.filter((m) => m.role === "assistant")
    sentences = informativeSentences(lexicon, assistant, (s) => `The assistant said: "${s}"`)
  }
  return capSummary([lead, ...sentences].join(" "), SUMMARY_MAX_CHARS)
}

// ---------------------------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------------------------

/** The episodes of one cell, one per user sender; pure. */
export const localEpisodes = (
  lexicon: TextAnalysis,
  filler: ReadonlySet<string>,
  calendar: ZonedCalendar,
  input: MemcellInput
): ReadonlyArray<EpisodeDraft> => {
  const senders = userSenders(input)
  if (senders.length === 0) return []
  const content = renderTranscript(input, calendar)
  return senders.map((sender) => {
    const topics = salientWords(lexicon, filler, input, sender)
    const title = topics.length > 0
      ? capitaliseFirst(topics.join(", "))
      : `Conversation on ${calendar.date(input.messages[0]?.timestamp ?? input.memcell.timestamp)}`
    return { sender_id: sender, title, content, summary: summarize(lexicon, calendar, input, sender, topics) }
  })
}

export const makeLocalEpisodeExtractor = (options: ExtractorOptions = {}) =>
  Effect.gen(function*() {
    const lexicon = yield* Lexicon
    const calendar = makeZonedCalendar(options.timeZone ?? "UTC")
    const filler: ReadonlySet<string> = new Set(lexicon.terms(FILLER_WORDS))
    const extract = Effect.fn("LocalEpisodeExtractor.extract")(function*(input: MemcellInput) {
      const episodes = localEpisodes(lexicon, filler, calendar, input)
      yield* annotateExtraction(input, { "engram.episodes": episodes.length })
      return episodes
    })
    return EpisodeExtractor.of({ name: "local", extract })
  })
