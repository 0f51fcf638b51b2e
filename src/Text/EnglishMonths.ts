/** English month names, January first. */
export const ENGLISH_MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december"
] as const

/** The month (1–12) a name or an abbreviation of at least 3 letters names ("Sept", "aug"), any case; undefined otherwise. */
export const englishMonth = (name: string): number | undefined => {
  const lower = name.toLowerCase()
  const index = ENGLISH_MONTHS.findIndex((m) => m === lower || (lower.length >= 3 && m.startsWith(lower)))
  return index < 0 ? undefined : index + 1
}
