/**
 * # Local foresight extractor
 *
 * The offline `ForesightExtractor` ("local"). For each user sender it keeps the sentences of that
 * sender's messages that speak about the future: a date expression that chrono-node resolves,
 * against the message's own timestamp in the configured zone, to the message's day or later
 * ("next Friday", "tomorrow", "in two weeks", "on June 3rd", "in August"), or explicit intent
 * ("I will…", "I'll…", "I'm going to…", "I plan to…"), which starts on the message's day.
 *
 * - `start_time`: the resolved time when the expression names an hour ("tomorrow at 3pm"), else
 *   the start of the resolved day in the zone.
 * - `end_time`: the end of a range ("May 20 to May 24", through the end of the last day), the
 *   end of a named month ("in August"), or start plus a duration ("for two weeks"); else null.
 * - `content`: the sentence in the third person with the resolved date inserted after the
 *   expression ("Next Friday (2024-05-10) Alice is flying to Lisbon."); sentences without a
 *   first-person mention read "Alice mentioned: …". `evidence`: the sentence as written.
 *
 * Readings worth knowing: "next Friday" is the nearest Friday strictly after the message's day
 * (said on Monday 2024-05-06 it is 2024-05-10), where chrono alone would take the Friday of next
 * week; a weekday alone ("on Friday") is the coming one; a date without a year is the next one.
 *
 * Limits: only the first resolvable date of a sentence is used, and a plan stated over several
 * sentences ("I'm flying to Lisbon. It's next Friday.") is found only from the sentence with the
 * date, without its subject. Past framing ("was", "had", "used to", "born") drops a sentence
 * unless it also states intent; present-tense dates that are really habits ("I work on
 * Mondays") can be read as plans; plans stated by the assistant, by tools or by "we" without a
 * date are not found; cancelled plans are not noticed; chrono's English grammar only. Pure and
 * never fails.
 */
import { Effect } from "effect"
import { makeZonedCalendar, type ZonedCalendar } from "../Text/Calendar.js"
import { Lexicon } from "../Text/Lexicon.js"
import { finishSentence, hasFirstPerson, isGreeting, stripDiscourse, toThirdPerson } from "./EnglishFirstPerson.js"
import {
  type ExtractorOptions,
  type ForesightDraft,
  ForesightExtractor,
  labelOfSender,
  type MemcellInput,
  analyzedText,
  userSenders
} from "./Extractors.js"
import { annotateExtraction } from "./ExtractorLayers.js"
import { findFutureMention, type FutureMention } from "./FutureTime.js"

type TextAnalysis = Pick<Lexicon, "sentences" | "terms">

/** Fewest content terms a foresight sentence needs ("I will." has none). */
const MIN_FORESIGHT_TERMS = 2

/** The sentence with ` (YYYY-MM-DD)` after its date expression, so the content stands alone. */
const withResolvedDate = (sentence: string, mention: FutureMention, calendar: ZonedCalendar): string => {
  const expression = mention.expression
  if (expression === undefined) return sentence
  const date = calendar.date(mention.start)
  if (expression.text.includes(date)) return sentence
  return `${sentence.slice(0, expression.end)} (${date})${sentence.slice(expression.end)}`
}

const foresightContent = (sentence: string, name: string): string => {
  if (hasFirstPerson(sentence)) return toThirdPerson(sentence, name)
  return `${name} mentioned: ${finishSentence(stripDiscourse(sentence))}`
}

/** The foresight of one cell, one list per user sender (flattened in sender order); pure. */
export const localForesight = (
  lexicon: TextAnalysis,
  calendar: ZonedCalendar,
  input: MemcellInput
): ReadonlyArray<ForesightDraft> => {
  const out: Array<ForesightDraft> = []
  for (const sender of userSenders(input)) {
    const name = labelOfSender(input, sender)
    const seen = new Set<string>()
    for (const message of input.messages) {
      if (message.role !== "user" || message.sender_id !== sender) continue
      for (const sentence of lexicon.sentences(analyzedText(message.content))) {
        // "Thanks, I will book it tomorrow." is a plan once its greeting is set aside.
        const core = stripGreeting(sentence)
        if (lexicon.terms(core).length < MIN_FORESIGHT_TERMS) continue
        const mention = findFutureMention(core, message.timestamp, calendar)
        if (mention === undefined) continue
        const content = foresightContent(withResolvedDate(core, mention, calendar), name)
        const key = `${content.toLowerCase()}\u0000${mention.start}`
        if (seen.has(key)) continue
        seen.add(key)
        out.push({
          sender_id: sender,
          content,
          start_time: mention.start,
          end_time: mention.end,
          evidence: sentence,
          message_ids: [message.message_id]
        })
      }
    }
  }
  return out
}

/** "Thanks, I will…" → "I will…": a leading greeting word is not part of the plan. */
const stripGreeting = (sentence: string): string =>
  isGreeting(sentence) ? sentence.replace(/^\s*[\p{L}]+(?:\s+(?:you|morning|afternoon|evening|night))?[\s,!.]+/u, "") : sentence

export const makeLocalForesightExtractor = (options: ExtractorOptions = {}) =>
  Effect.gen(function*() {
    const lexicon = yield* Lexicon
    const calendar = makeZonedCalendar(options.timeZone ?? "UTC")
    const extract = Effect.fn("LocalForesightExtractor.extract")(function*(input: MemcellInput) {
      const items = localForesight(lexicon, calendar, input)
      yield* annotateExtraction(input, { "engram.foresight": items.length })
      return items
    })
    return ForesightExtractor.of({ name: "local", extract })
  })
