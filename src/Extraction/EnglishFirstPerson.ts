/**
 * Small, rule-based English helpers for the local extractors: which sentences are first-person
 * statements, and how to restate them in the third person ("I'm allergic to peanuts" → "Alice is
 * allergic to peanuts."). Word lists, not a parser: see the limits in the local extractors' docs.
 */

/** Words that open a sentence without carrying content ("Oh, ", "Btw ", "Yes, "). */
const DISCOURSE_PREFIX =
  /^(?:(?:oh|ah|aw|aww|well|so|and|but|also|actually|btw|by the way|anyway|yeah|yes|yep|yup|yay|woah|whoa|haha|lol|hmm|ok|okay|right|honestly|basically|fyi|fun fact|plus)\b[\s,:;!.\-–—]*)+/i

const GREETING = /^(?:hi|hello|hey|hiya|thanks|thank|thx|bye|goodbye|cheers|cool|great|nice|awesome|perfect|good (?:morning|afternoon|evening|night)|sounds good|no problem)\b/i

/** Openers of questions that may lack a question mark. */
const QUESTION_OPENER =
  /^(?:what|why|how|when|where|who|whom|whose|which|can|could|would|will|should|shall|may|might|do|does|did|is|are|am|was|were|have|has|any idea|is there|are there)\b/i

/** Sentences that point at something outside themselves ("Here is the menu I found"). */
const DEICTIC_OPENER = /^(?:here|there|this|that|these|those|it)\b(?!\s+(?:is|was)\s+(?:my|i)\b)/i

/** "Here's a photo of my garden": the speaker shows something (restated as "<name> shared …"). */
const SHARING_OPENER = /^here(?:['\u2019]s| is| are)\s+/i

/** First-person singular pronoun tokens (straight or curly apostrophes). */
const FIRST_PERSON = /(?:^|[^\p{L}'\u2019])(?:i|i['\u2019](?:m|ve|d|ll)|my|me|mine|myself)(?![\p{L}'\u2019])/iu

/** Phrases that are about the conversation itself, hedges or requests, not about the user. */
const NOT_A_STATEMENT = new RegExp(
  [
    String.raw`\byou\b`,
    String.raw`\byour\b`,
    String.raw`\blet me\b`,
    String.raw`\bi (?:think|guess|wonder|was wondering|mean|see|agree|understand|hope|suppose|believe|bet|doubt|forgot to ask)\b`,
    // Agreement with what was said ("I totally agree", "I 100% get it") restates the other speaker.
    String.raw`\bi (?:totally|completely|fully|really|so|100%|absolutely|definitely) (?:agree|get it|understand)\b`,
    String.raw`\bi(?:['\u2019]d| would) (?:like|love|prefer|appreciate)\b`,
    String.raw`\bi (?:need|want) (?:help|to know|to ask|some|a few|an? (?:idea|suggestion|recommendation|tip|advice))\b`,
    String.raw`\bi(?:['\u2019]m| am) (?:not sure|wondering|curious|looking for|trying to figure)\b`,
    String.raw`\bi (?:don['\u2019]?t|do not) know\b`
  ].join("|"),
  "i"
)

/** A greeting or exclamation opening a statement, maybe with a name, then a comma: "Hey Nate, ", "Wow, Mel, ". */
const GREETING_LEAD = /^(?:hi|hey|hello|hiya|thanks|thank you|wow|cool|great|nice|awesome)\b/i
const NAME_THEN_COMMA = /^,?\s*(?:\p{Lu}[\p{L}'\u2019-]*\s*)?,\s+/u

/** The sentence without leading discourse markers, nor a greeting that leads into it ("Hey Nate, my…"). */
export const stripDiscourse = (sentence: string): string => {
  const core = sentence.trim().replace(DISCOURSE_PREFIX, "").trim()
  const greeting = core.match(GREETING_LEAD)
  if (greeting === null) return core
  const rest = core.slice(greeting[0].length)
  const lead = rest.match(NAME_THEN_COMMA)
  return lead === null ? core : rest.slice(lead[0].length).replace(DISCOURSE_PREFIX, "").trim()
}

/**
 * The sentence without the names it addresses ("Caroline, they're my fave memories", "I totally
 * get it, Mel."): a word after which only the sentence's end or before which only its start
 * comes, set off by a comma, naming one of `names` or their start ("Mel" for Melanie).
 */
export const withoutVocatives = (sentence: string, names: ReadonlyArray<string>): string => {
  const isName = (word: string) =>
    word.length >= 3 && names.some((name) => name.toLowerCase().startsWith(word.toLowerCase()))
  const lead = sentence.match(/^\s*(\p{Lu}[\p{L}'\u2019-]*),\s+/u)
  const withoutLead = lead !== null && isName(lead[1]!) ? sentence.slice(lead[0].length) : sentence
  const tail = withoutLead.match(/,\s*(\p{Lu}[\p{L}'\u2019-]*)(\s*[.!?\u2026]*\s*)$/u)
  return tail !== null && isName(tail[1]!) ? withoutLead.slice(0, tail.index) + tail[2]! : withoutLead
}

export const isQuestion = (sentence: string): boolean => {
  const s = sentence.trim()
  return /[?\uff1f]\s*["'\u201d\u2019)]*$/.test(s) || QUESTION_OPENER.test(stripDiscourse(s))
}

export const isGreeting = (sentence: string): boolean => GREETING.test(sentence.trim())

export const hasFirstPerson = (sentence: string): boolean => FIRST_PERSON.test(sentence)

export const wordCount = (sentence: string): number => (sentence.match(/[\p{L}\p{N}]+(?:['\u2019][\p{L}]+)*/gu) ?? []).length

/**
 * A declarative first-person statement worth keeping as a fact: not a question, greeting, hedge,
 * request or deictic reference, at least `minWords` words, and about the speaker ("I", "my").
 * "Here's a photo of my garden" counts: the speaker shows something of theirs.
 */
export const isFirstPersonStatement = (sentence: string, minWords = 4): boolean => {
  const text = statementText(sentence, minWords)
  return text !== undefined && hasFirstPerson(text.shown)
}

/**
 * A sentence that may state something (`core`: without discourse markers or a leading greeting;
 * `shown`: what "here's…" shows), or undefined for questions, greetings, hedges, requests,
 * deictic references and sentences under `minWords` words.
 */
const statementText = (sentence: string, minWords: number): { core: string; shown: string } | undefined => {
  const core = stripDiscourse(sentence)
  if (core.length === 0 || wordCount(core) < minWords || isQuestion(sentence) || isGreeting(core)) return undefined
  const shown = core.replace(SHARING_OPENER, "")
  if (shown === core && DEICTIC_OPENER.test(core)) return undefined
  return NOT_A_STATEMENT.test(shown) ? undefined : { core, shown }
}

// ---------------------------------------------------------------------------------------------
// Third-person rewriting
// ---------------------------------------------------------------------------------------------

const MODALS = new Set(["can", "could", "will", "would", "shall", "should", "may", "might", "must", "was", "wasn't"])

/** Common irregular past tenses (and present/past-ambiguous verbs), which need no "-s". */
const IRREGULAR_PAST = new Set(
  (
    "went came got had made took saw met bought left began became grew knew lost found felt kept thought told said " +
    "sold sent spent built ran wrote gave ate drank drove flew fell forgot heard held paid put quit rode sang sat " +
    "slept spoke stood swam taught understood won wore broke brought caught chose cut did dug hit hurt let meant " +
    "set shut split spread woke were fought lay led lent lit shot shook stole struck stuck threw tore drew sought " +
    "hung hid swore blew bent bit bled bore bound bred clung crept dealt fed fled flung forgave froze knelt rang rose " +
    "sank shone shrank slid spun sprang stung strove swept swung wept withdrew wound overcame undertook mistook"
  ).split(" ")
)

/** Adverbs that may sit between "I" and its verb ("I usually take", "I really love"). */
const ADVERBS = new Set(
  (
    "also usually really often always never sometimes rarely only just still already actually mostly generally " +
    "normally probably definitely recently currently finally even barely hardly seldom typically totally absolutely"
  ).split(" ")
)

const PRESENT_IRREGULAR: Readonly<Record<string, string>> = {
  am: "is",
  have: "has",
  do: "does",
  go: "goes",
  "don't": "doesn't",
  "don\u2019t": "doesn\u2019t",
  "haven't": "hasn't",
  "haven\u2019t": "hasn\u2019t",
  "am not": "is not"
}

const matchCase = (original: string, replacement: string): string =>
  original.length > 0 && original[0] === original[0]!.toUpperCase() && original[0] !== original[0]!.toLowerCase()
    ? replacement[0]!.toUpperCase() + replacement.slice(1)
    : replacement

/** "-eed" verbs are mostly present tenses (need, feed, succeed), a few are pasts (agreed, freed). */
const EED_PAST = new Set(["agreed", "freed", "decreed", "guaranteed", "refereed", "disagreed"])

const isRegularPast = (lower: string): boolean => /ed$/.test(lower) && (!/eed$/.test(lower) || EED_PAST.has(lower))

/** The third-person singular present of a verb that followed "I"; past tenses and modals unchanged. */
export const thirdPersonVerb = (verb: string): string => {
  const lower = verb.toLowerCase()
  const irregular = PRESENT_IRREGULAR[lower]
  if (irregular !== undefined) return matchCase(verb, irregular)
  if (MODALS.has(lower) || IRREGULAR_PAST.has(lower) || isRegularPast(lower) || !/^[a-z]+$/.test(lower)) return verb
  if (/(?:s|sh|ch|x|z|o)$/.test(lower)) return verb + "es"
  if (/[^aeiou]y$/.test(lower)) return verb.slice(0, -1) + "ies"
  return verb + "s"
}

const CONTRACTION: Readonly<Record<string, string>> = { m: "is", ve: "has", ll: "will" }

/** Past participles after "I'd" mean "had" ("I'd moved", "I'd been"); anything else "would". */
const looksLikeParticiple = (word: string | undefined): boolean =>
  word !== undefined && (/ed$/i.test(word) || /^(?:been|gone|done|seen|had|taken|given|known|made|got|gotten|left|met)$/i.test(word))

interface Token {
  readonly text: string
  /** A word (letters with inner apostrophes) rather than spaces or punctuation. */
  readonly word: boolean
}

const tokenize = (text: string): Array<Token> =>
  Array.from(text.matchAll(/[\p{L}\p{N}]+(?:['\u2019][\p{L}]+)*|[^\p{L}\p{N}]+/gu), (m) => ({
    text: m[0],
    word: /^[\p{L}\p{N}]/u.test(m[0])
  }))

/** Index of the next word token after `i`, skipping spaces; -1 at the end or at punctuation. */
const nextWord = (tokens: ReadonlyArray<Token>, i: number): number => {
  for (let j = i + 1; j < tokens.length; j++) {
    if (tokens[j]!.word) return j
    if (tokens[j]!.text.trim().length > 0) return -1
  }
  return -1
}

/** The first word from `j` on that is not an adverb ("usually", "just"); -1 when none is left. */
const skipAdverbs = (tokens: ReadonlyArray<Token>, j: number): number => {
  let k = j
  while (k !== -1 && ADVERBS.has(tokens[k]!.text.toLowerCase())) k = nextWord(tokens, k)
  return k
}

/** Conjugates the verb after a singular subject at `i`, skipping adverbs ("I usually take"). */
const conjugateAfter = (tokens: Array<Token>, i: number): void => {
  const j = skipAdverbs(tokens, nextWord(tokens, i))
  if (j === -1) return
  tokens[j] = { text: thirdPersonVerb(tokens[j]!.text), word: true }
}

/** Index of the previous word token before `i`, skipping spaces; -1 at the start or at punctuation. */
const previousWord = (tokens: ReadonlyArray<Token>, i: number): number => {
  for (let j = i - 1; j >= 0; j--) {
    if (tokens[j]!.word) return j
    if (tokens[j]!.text.trim().length > 0) return -1
  }
  return -1
}

/** Past participles used as adjectives ("Excited for the trip!"): no subject is left out before them. */
const FEELING_WORDS = new Set(
  (
    "excited stoked thrilled pumped interested amazed blessed bored scared worried pleased surprised inspired tired " +
    "impressed wanted needed hoped glad touched moved"
  ).split(" ")
)

/** What may follow a past tense whose "I" was left out: an object or a phrase, not the end of the sentence. */
const AFTER_VERB = /^(?:my|a|an|the|some|our|this|that|these|those|to|up|out|back|with|for|by|at|in|on|into|over|off|around|\d)\b/i

/**
 * The sentence with the "I" chat leaves out restored ("Just got back from a road trip" → "I just
 * got back…", "Been rehearsing hard" → "I've been rehearsing hard"), or undefined when it does not
 * open, past any discourse marker and adverbs, with a past tense followed by an object or phrase,
 * or with "been" and an -ing verb ("Been a busy week" has no left-out "I").
 */
export const withImpliedSubject = (sentence: string): string | undefined => {
  const core = stripDiscourse(sentence)
  const tokens = tokenize(core)
  // Word-led only: "[shared a photo: …]" is a caption, not a sentence.
  if (tokens[0]?.word !== true) return undefined
  const j = skipAdverbs(tokens, 0)
  if (j === -1) return undefined
  const verb = tokens[j]!.text.toLowerCase()
  const rest = tokens.slice(j + 1).map((t) => t.text).join("").trim()
  const next = tokens[nextWord(tokens, j)]?.text.toLowerCase() ?? ""
  // "I" goes before the adverbs: "Just got" → "I just got".
  const adverbs = tokens.slice(0, j).map((t) => t.text).join("").toLowerCase()
  if (verb === "been") return /^(?:\w+ing|busy)\b/i.test(rest) ? `I've ${adverbs}been ${rest}` : undefined
  if (isLeftOutProgressive(verb, rest)) return `I'm ${adverbs}${verb} ${rest}`
  const past = (IRREGULAR_PAST.has(verb) || isRegularPast(verb)) && !FEELING_WORDS.has(verb)
  if (!past || !AFTER_VERB.test(rest) || next === "you" || next === "your") return undefined
  return `I ${adverbs}${verb} ${rest}`
}

/** Words in -ing that open a sentence without being a verb of the speaker's ("Amazing work!", "During…"). */
const NOT_PROGRESSIVE = new Set(
  (
    "nothing something anything everything thing morning evening wedding building ceiling clothing spring string " +
    "during including regarding according considering concerning following sibling darling pudding king bring sing " +
    "swing ring sting wing amazing exciting interesting inspiring relaxing surprising refreshing rewarding challenging " +
    "stunning touching fascinating charming boring thrilling encouraging heartwarming overwhelming terrifying " +
    "frightening annoying disappointing satisfying soothing calming humbling uplifting outstanding breathtaking " +
    "promising astonishing confusing depressing embarrassing exhausting frustrating shocking tiring worrying amusing " +
    "appealing comforting compelling daunting devastating disturbing engaging entertaining fulfilling pleasing " +
    "riveting striking tempting welcoming intriguing invigorating enlightening eye-opening nerve-wracking"
  ).split(" ")
)

/** Verbs that make an -ing phrase the subject of its clause ("Taking care of ourselves is vital"). */
const FINITE_AFTER_GERUND = new Set(
  (
    "is isn't was wasn't are aren't were weren't has hasn't have had can can't could will won't would should must " +
    "might may does doesn't did didn't makes made brings brought gives gave helps helped keeps kept means meant takes " +
    "took feels felt seems seemed sounds sounded looks looked gets got becomes became lets let"
  ).split(" ")
)

/**
 * Clauses a dash, semicolon or comma joins into one sentence ("I'm keen on nursing - I'd love to
 * help", "I made a cake yesterday, maybe you'd like it").
 */
export const CLAUSE_BREAK = /\s+[-\u2013\u2014]+\s+|\s*[;,]\s+/

/** Where an -ing opener's phrase ends: a clause break, or a colon ("Planning: …"). */
const PHRASE_END = new RegExp(`${CLAUSE_BREAK.source}|\\s*:\\s+`)

/** A clause's subject or possessive: after one, an -ing opener is an adjunct ("Growing up, I saw…"). */
const CLAUSE_SUBJECT = /^(?:i|i['\u2019](?:m|ve|d|ll)|we|we['\u2019](?:re|ve|d|ll)|he|she|they|my|our)$/i

/**
 * "Researching adoption agencies — it's been a dream": an -ing verb opening a sentence, followed by
 * its object or phrase, with no verb making the phrase a subject ("Taking care of ourselves is
 * vital") before the clause ends, and no new subject after it ("Growing up, I saw…").
 */
const isLeftOutProgressive = (verb: string, rest: string): boolean => {
  if (!/^[a-z]{3,}ing$/.test(verb) || NOT_PROGRESSIVE.has(verb)) return false
  const [clause = "", next = ""] = rest.split(PHRASE_END)
  const words = clause.toLowerCase().replace(/\u2019/g, "'").match(/[a-z0-9%']+/g) ?? []
  if (words.length === 0 || /^(?:and|but|or|so|too|as|than)$/.test(words[0]!)) return false
  if (words.some((word) => FINITE_AFTER_GERUND.has(word) || word.endsWith("'s") || word.endsWith("'re"))) return false
  const nextFirst = next.match(/^[\p{L}'\u2019]+/u)?.[0] ?? ""
  return !CLAUSE_SUBJECT.test(nextFirst)
}

const PERSONAL_SUBJECT = new Set(["i", "we", "he", "she", "they"])

/**
 * Whether a personal subject ("I", "we", "she"…) is followed, past any adverbs, by a past tense
 * ("I won", "we finally tried"): the sentence tells what happened, so a weekday or "this weekend"
 * in it is a past one. Ambiguous forms ("read", "put") count as past.
 */
export const hasPastTenseVerb = (sentence: string): boolean => {
  const tokens = tokenize(sentence)
  for (let i = 0; i < tokens.length; i++) {
    if (!tokens[i]!.word || !PERSONAL_SUBJECT.has(tokens[i]!.text.toLowerCase())) continue
    const j = skipAdverbs(tokens, nextWord(tokens, i))
    if (j === -1) continue
    const verb = tokens[j]!.text.toLowerCase()
    if (IRREGULAR_PAST.has(verb) || isRegularPast(verb)) return true
  }
  return false
}

const COORDINATORS = new Set(["and", "or", "nor"])

/** "Marta and I" is a plural subject; ", and I fly back" starts a new clause with a singular one. */
const isPluralSubject = (tokens: ReadonlyArray<Token>, i: number): boolean => {
  const j = previousWord(tokens, i)
  return j !== -1 && COORDINATORS.has(tokens[j]!.text.toLowerCase()) && previousWord(tokens, j) !== -1
}

/**
 * `sentence` restated in the third person about `name`: I → name (verb conjugated), I'm → name
 * is, my/mine → name's, me → name; discourse markers dropped, first letter capitalised, ending
 * with a full stop. Every first-person mention becomes the name (no gendered pronoun is guessed).
 */
export const toThirdPerson = (sentence: string, name: string): string => {
  const tokens = tokenize(stripDiscourse(sentence).replace(SHARING_OPENER, "I shared "))
  const possessive = `${name}'s`
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!
    if (!token.word) continue
    const lower = token.text.toLowerCase().replace("\u2019", "'")
    if (lower === "i") {
      tokens[i] = { text: name, word: true }
      // "Marta and I are": a plural subject keeps its verb.
      if (!isPluralSubject(tokens, i)) conjugateAfter(tokens, i)
    } else if (/^i'(m|ve|ll|d)$/.test(lower)) {
      const suffix = lower.slice(2)
      const next = tokens[nextWord(tokens, i)]?.text
      const verb = suffix === "d" ? (looksLikeParticiple(next) ? "had" : "would") : CONTRACTION[suffix]!
      const plural = isPluralSubject(tokens, i)
      tokens[i] = { text: `${name} ${plural && verb === "is" ? "are" : plural && verb === "has" ? "have" : verb}`, word: true }
    } else if (lower === "my" || lower === "mine") {
      tokens[i] = { text: possessive, word: true }
    } else if (lower === "me") {
      tokens[i] = { text: name, word: true }
    } else if (lower === "myself") {
      tokens[i] = { text: "themself", word: true }
    }
  }
  const text = tokens.map((t) => t.text).join("").trim()
  return finishSentence(text)
}

/** "We" as a subject ("we", "we're", "we've", "we'd", "we'll"). */
const FIRST_PERSON_PLURAL = /(?:^|[^\p{L}'\u2019])we(?:['\u2019](?:re|ve|d|ll))?(?![\p{L}'\u2019])/iu

/**
 * A declarative statement about the speaker and others ("We explored the coast last summer"),
 * with no singular first person (those go through `isFirstPersonStatement`), and the same gates.
 */
export const isFirstPersonPluralStatement = (sentence: string, minWords = 4): boolean => {
  const text = statementText(sentence, minWords)
  return text !== undefined && text.shown === text.core && !/\blet['\u2019]?s\b/i.test(text.core) &&
    !hasFirstPerson(text.core) && FIRST_PERSON_PLURAL.test(text.core)
}

const PLURAL_CONTRACTION: Readonly<Record<string, string>> = { re: "are", ve: "have", ll: "will" }

/**
 * A "we" statement about `name`: we → "name and others" (verbs stay plural), we're → "name and
 * others are", our/ours → their, us → them. Who the others are is not guessed.
 */
export const pluralToThirdPerson = (sentence: string, name: string): string => {
  const tokens = tokenize(stripDiscourse(sentence))
  const group = `${name} and others`
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!
    if (!token.word) continue
    const lower = token.text.toLowerCase().replace("\u2019", "'")
    if (lower === "we") tokens[i] = { text: group, word: true }
    else if (/^we'(re|ve|ll|d)$/.test(lower)) {
      const suffix = lower.slice(3)
      const verb = suffix === "d" ? (looksLikeParticiple(tokens[nextWord(tokens, i)]?.text) ? "had" : "would") : PLURAL_CONTRACTION[suffix]!
      tokens[i] = { text: `${group} ${verb}`, word: true }
    } else if (lower === "our" || lower === "ours") tokens[i] = { text: lower === "our" ? "their" : "theirs", word: true }
    else if (lower === "us") tokens[i] = { text: "them", word: true }
    else if (lower === "ourselves") tokens[i] = { text: "themselves", word: true }
  }
  return finishSentence(tokens.map((t) => t.text).join("").trim())
}

/** First letter upper-cased; trailing "!", "…" or "." runs become one full stop. */
export const finishSentence = (text: string): string => {
  const trimmed = text.trim().replace(/[\s,;:]+$/u, "")
  if (trimmed.length === 0) return ""
  const capitalised = trimmed[0]!.toUpperCase() + trimmed.slice(1)
  return /[.!…]+$/u.test(capitalised) ? capitalised.replace(/[.!…]+$/u, ".") : `${capitalised}.`
}
