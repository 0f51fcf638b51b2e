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

/**
 * Building an Intl.DateTimeFormat costs tens of microseconds, far more than using one, so a
 * calendar is built once per zone by its owner and reused for every message.
 */
export const makeZonedCalendar = (timeZone: string): ZonedCalendar => {
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
