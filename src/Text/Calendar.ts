/** Instants whose date a calendar remembers; then it starts over (cheap and bounded). */
const DATE_MEMO_LIMIT = 8192

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/** Wall-clock views of epoch milliseconds in one IANA time zone. */
export interface ZonedCalendar {
  /** ISO-8601 to the second with the zone's offset (`Z` for UTC), e.g. `2024-05-01T09:30:00+02:00`. */
  readonly isoWithOffset: (epochMs: number) => string
  /** `YYYY-MM-DD` in the zone: the user's calendar date. */
  readonly date: (epochMs: number) => string
}

/** Years whose ISO form is four digits, where UTC fields print exactly as Intl prints them. */
const FOUR_DIGIT_YEARS_FROM = Date.UTC(1000, 0, 1)
const FOUR_DIGIT_YEARS_UNTIL = Date.UTC(10000, 0, 1)

/**
 * UTC (the default zone) from the Date's own UTC fields: the same text as Intl, for a fraction of
 * its cost (the buffer's dates are read on every add, a model prompt shows every line's instant).
 * Outside four-digit years it defers to `intl`, whose era and padding rules differ there.
 */
const utcCalendar = (intl: ZonedCalendar): ZonedCalendar => {
  const fast = (epochMs: number) => epochMs >= FOUR_DIGIT_YEARS_FROM && epochMs < FOUR_DIGIT_YEARS_UNTIL
  return {
    date: (epochMs) => fast(epochMs) ? new Date(epochMs).toISOString().slice(0, 10) : intl.date(epochMs),
    isoWithOffset: (epochMs) => fast(epochMs) ? `${new Date(epochMs).toISOString().slice(0, 19)}Z` : intl.isoWithOffset(epochMs)
  }
}

/**
 * Building an Intl.DateTimeFormat costs tens of microseconds, far more than using one, so a
 * calendar is built once per zone by its owner and reused for every message.
 */
export const makeZonedCalendar = (timeZone: string): ZonedCalendar => {
  const intl = makeIntlCalendar(timeZone)
  const resolved = new Intl.DateTimeFormat("en-CA", { timeZone }).resolvedOptions().timeZone
  return resolved === "UTC" || resolved === "Etc/UTC" ? utcCalendar(intl) : intl
}

/** Any IANA zone, through Intl (`makeZonedCalendar` takes the UTC shortcut where it applies). */
export const makeIntlCalendar = (timeZone: string): ZonedCalendar => {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit"
  })
  const dateOnly = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
  // Dates by whole second (no zone offset has a fraction of a second): formatting costs microseconds.
  const dates = new Map<number, string>()
  return {
    date: (epochMs) => {
      // The buffer is split by date on every add, so the same instants come back again and again.
      const second = Math.floor(epochMs / 1000)
      let date = dates.get(second)
      if (date === undefined) {
        if (dates.size >= DATE_MEMO_LIMIT) dates.clear()
        date = dateOnly.format(second * 1000)
        dates.set(second, date)
      }
      return date
    },
    isoWithOffset: (epochMs) => {
      const fields = parts.formatToParts(new Date(epochMs))
      const part = (type: Intl.DateTimeFormatPartTypes) => Number(fields.find((p) => p.type === type)?.value ?? 0)
      const [year, month, day, hour, minute, second] = [
        part("year"),
        part("month"),
        part("day"),
        part("hour"),
        part("minute"),
        part("second")
      ]
      const wholeSecondMs = Math.floor(epochMs / 1000) * 1000
      const offsetMinutes = Math.round((Date.UTC(year, month - 1, day, hour, minute, second) - wholeSecondMs) / 60_000)
      const offset = offsetMinutes === 0
        ? "Z"
        : `${offsetMinutes < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offsetMinutes) / 60))}:${pad(Math.abs(offsetMinutes) % 60)}`
      return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${offset}`
    }
  }
}
