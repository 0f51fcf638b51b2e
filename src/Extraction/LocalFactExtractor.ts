/**
 * # Local fact extractor
 *
 * The offline `FactExtractor` ("local"). It keeps the declarative first-person sentences of each
 * user sender ("I moved to Berlin last year", "My sister is a nurse", "I'm allergic to peanuts")
 * and restates them in the third person about the sender's name ("Alice moved to Berlin last
 * year.", "Alice's sister is a nurse.", "Alice is allergic to peanuts."). Each fact keeps the id of
 * the message it came from; identical facts in one cell are merged with all their sources.
 *
 * Also kept: "we" statements, as "Alice and others …" ("We explored the coast" → "Alice and
 * others explored the coast."), things shown ("Here's a photo of my garden" → "Alice shared a
 * photo of Alice's garden."), sentences chat leaves the "I" out of ("Just got back from Rome" →
 * "Alice just got back from Rome.", "Researching flights to Rome" → "Alice is researching
 * flights to Rome."), and the statements among clauses a dash, semicolon or comma joins (a clause
 * needs its own "I" or "we"). A fact states one claim: a sentence of several clauses with subjects
 * of their own gives one fact per such clause that is a statement. Names the speaker addresses
 * ("…, Mel.") and agreement ("I totally agree") are left out.
 *
 * Skipped: questions, greetings and acknowledgements, sentences under 4 words or without a
 * content term, hedges and requests ("I think…", "I'd like…", anything addressed to "you"),
 * other sentences opening with "here/this/that/it" (they point outside themselves), and
 * sentences about the future, which the foresight extractor keeps instead (what happened "last
 * Friday" or "on Friday" in the past tense is a fact, see `FutureTime`).
 *
 * Limits: it is English word lists, not a parser. Third-person remarks ("She sleeps during the
 * day"), facts stated by the assistant and facts spread over several sentences or messages are
 * missed; who "we" are is not guessed. Pronouns other than I/my/me are
 * not resolved ("it", "she" stay as written), relative dates stay relative ("last year"), irony,
 * hypotheticals and negated hedges are taken literally, and the verb agreement is a heuristic
 * ("I read" becomes "Alice read"). Every first-person mention becomes the name, which is clumsy
 * but never guesses a gender. Tool and assistant messages are never sources. Pure and never fails.
 */
import { Effect } from "effect"
import { makeZonedCalendar, type ZonedCalendar } from "../Text/Calendar.js"
import { Lexicon } from "../Text/Lexicon.js"
import {
  CLAUSE_BREAK,
  isFirstPersonPluralStatement,
  isFirstPersonStatement,
  pluralToThirdPerson,
  toThirdPerson,
  withImpliedSubject,
  withoutVocatives
} from "./EnglishFirstPerson.js"
import {
  type ExtractorOptions,
  type FactDraft,
  FactExtractor,
  labelOfSender,
  type MemcellInput,
  analyzedText,
  userSenders
} from "./Extractors.js"
import { annotateExtraction } from "./ExtractorLayers.js"
import { findFutureMention } from "./FutureTime.js"

/** A fact names something: at least one Lexicon content term ("I've been vegetarian since 2019"). */
const MIN_FACT_TERMS = 1

type TextAnalysis = Pick<Lexicon, "terms" | "sentences">

/** A clause standing on its own has a subject: "I" or "we" ("one of my favorites" is no statement). */
const FIRST_PERSON_SUBJECT = /(?:^|[^\p{L}'\u2019])(?:i|we)(?:['\u2019](?:m|re|ve|d|ll))?(?![\p{L}'\u2019])/iu

/**
 * The first-person statements of one sentence, one claim each: those of its clauses with subjects
 * of their own when it has several ("Researching agencies - it's been a dream" keeps the first);
 * else the sentence with its left-out "I" restored, or the whole sentence, when it is one; else
 * those of its clauses with a subject (a hedge or a question in one clause does not hide a
 * statement in another).
 */
const statements = (sentence: string): ReadonlyArray<Statement> => {
  const groups = clauseGroups(sentence)
  if (groups.length > 1) {
    const atomic = groups.flatMap(singleStatement)
    if (atomic.length > 0) return atomic
  }
  const single = singleStatement(sentence)
  if (single.length > 0) return single
  return sentence.split(CLAUSE_BREAK).flatMap((clause) => {
    const statement = FIRST_PERSON_SUBJECT.test(clause) ? statementOf(clause) : undefined
    return statement === undefined ? [] : [statement]
  })
}

/** `text` as one statement: with its left-out "I" restored, or as it is. */
const singleStatement = (text: string): ReadonlyArray<Statement> => {
  const implied = withImpliedSubject(text)
  if (implied !== undefined && isFirstPersonStatement(implied)) return [{ text: implied, plural: false }]
  const whole = statementOf(text)
  return whole === undefined ? [] : [whole]
}

/** What opens a clause with a subject of its own ("it was lovely", "my kids loved it"). */
const SUBJECT_OPENER =
  /^(?:i|i['\u2019](?:m|ve|d|ll)|we|we['\u2019](?:re|ve|d|ll)|it|it['\u2019]s|he|she|they|they['\u2019](?:re|ve|d|ll)|there['\u2019]s|my|our)$/i

/** Splits at `CLAUSE_BREAK`, keeping the breaks. */
const CLAUSES_AND_BREAKS = new RegExp(`(${CLAUSE_BREAK.source})`)

/**
 * A sentence's clauses (split where `CLAUSE_BREAK` is) grouped so that each group has one subject:
 * a clause without one joins the group before it ("I love painting, especially landscapes"), or
 * the first group when none is before it ("Last Friday, I went…").
 */
const clauseGroups = (sentence: string): ReadonlyArray<string> => {
  // Odd entries are the separators (kept to rejoin a group as it was written).
  const parts = sentence.split(CLAUSES_AND_BREAKS)
  const groups: Array<string> = []
  let current = ""
  let hasSubject = false
  for (let i = 0; i < parts.length; i += 2) {
    const part = parts[i]!
    const opener = part.trim().match(/^[\p{L}'\u2019]+/u)?.[0] ?? ""
    // Read with the clause after it: "Growing up, I saw…" is an adjunct, not a left-out "I".
    const opensClause = SUBJECT_OPENER.test(opener) || withImpliedSubject(parts.slice(i, i + 3).join("")) !== undefined
    if (opensClause && hasSubject) {
      groups.push(current)
      current = part
    } else {
      current = i === 0 ? part : current + parts[i - 1]! + part
      hasSubject = hasSubject || opensClause
    }
  }
  groups.push(current)
  return groups
}

/** A statement about the speaker ("I") or the speaker and others ("we"). */
interface Statement {
  readonly text: string
  readonly plural: boolean
}

const statementOf = (text: string): Statement | undefined =>
  isFirstPersonStatement(text)
    ? { text, plural: false }
    : isFirstPersonPluralStatement(text)
    ? { text, plural: true }
    : undefined

/** The facts of one cell; pure. */
export const localFacts = (
  lexicon: TextAnalysis,
  calendar: ZonedCalendar,
  input: MemcellInput
): ReadonlyArray<FactDraft> => {
  const facts: Array<{ sender_id: string; content: string; message_ids: Array<string> }> = []
  const senders = userSenders(input)
  // Who the speakers may address by name (their labels).
  const names = senders.map((sender) => labelOfSender(input, sender))
  for (const [i, sender] of senders.entries()) {
    const name = names[i]!
    const byContent = new Map<string, { sender_id: string; content: string; message_ids: Array<string> }>()
    for (const message of input.messages) {
      if (message.role !== "user" || message.sender_id !== sender) continue
      const sentences = lexicon.sentences(analyzedText(message.content)).map((sentence) => withoutVocatives(sentence, names))
      for (const { plural, text: sentence } of sentences.flatMap(statements)) {
        if (lexicon.terms(sentence).length < MIN_FACT_TERMS) continue
        if (findFutureMention(sentence, message.timestamp, calendar) !== undefined) continue
        const content = plural ? pluralToThirdPerson(sentence, name) : toThirdPerson(sentence, name)
        const key = content.toLowerCase()
        const existing = byContent.get(key)
        if (existing === undefined) {
          const fact = { sender_id: sender, content, message_ids: [message.message_id] }
          byContent.set(key, fact)
          facts.push(fact)
        } else if (!existing.message_ids.includes(message.message_id)) {
          existing.message_ids.push(message.message_id)
        }
      }
    }
  }
  return facts
}

export const makeLocalFactExtractor = (options: ExtractorOptions = {}) =>
  Effect.gen(function*() {
    const lexicon = yield* Lexicon
    const calendar = makeZonedCalendar(options.timeZone ?? "UTC")
    const extract = Effect.fn("LocalFactExtractor.extract")(function*(input: MemcellInput) {
      const facts = localFacts(lexicon, calendar, input)
      yield* annotateExtraction(input, { "engram.facts": facts.length })
      return facts
    })
    return FactExtractor.of({ name: "local", extract })
  })
