import { describe, expect, it } from "@effect/vitest"
import { makeIntlCalendar, makeZonedCalendar } from "../../src/Text/Calendar.js"
import { seededRandom } from "../support/SeededRandom.js"

describe("ZonedCalendar", () => {
  it("UTC dates and ISO instants are exactly what Intl gives, across eras and at day edges", () => {
    const intl = makeIntlCalendar("UTC")
    const random = seededRandom(12)
    const instants = [
      0,
      -1,
      Date.UTC(1000, 0, 1),
      Date.UTC(1000, 0, 1) - 1,
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(10000, 0, 1),
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(2024, 2, 1),
      ...Array.from({ length: 2000 }, () => Math.floor((random() - 0.3) * 4e12)),
      ...Array.from({ length: 200 }, () => Math.floor((random() - 0.5) * 8e15))
    ]
    for (const zone of ["UTC", "Etc/UTC", "utc"]) {
      const calendar = makeZonedCalendar(zone)
      for (const at of instants) {
        expect(calendar.date(at), `${zone} ${at}`).toBe(intl.date(at))
        expect(calendar.isoWithOffset(at), `${zone} ${at}`).toBe(intl.isoWithOffset(at))
      }
    }
  })

  it("other zones keep their offsets and dates", () => {
    const berlin = makeZonedCalendar("Europe/Berlin")
    expect(berlin.isoWithOffset(Date.UTC(2024, 6, 1, 22, 30))).toBe("2024-07-02T00:30:00+02:00")
    expect(berlin.date(Date.UTC(2024, 6, 1, 22, 30))).toBe("2024-07-02")
    expect(makeZonedCalendar("America/New_York").isoWithOffset(Date.UTC(2024, 0, 1, 3))).toBe("2023-12-31T22:00:00-05:00")
  })
})
