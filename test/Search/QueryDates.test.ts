import { describe, expect, it } from "@effect/vitest"
import { dayMatches, mentionRanges, queryDates } from "../../src/Search/QueryDates.js"

describe("queryDates", () => {
  it("reads a day in the usual English orders, with or without its year", () => {
    expect(queryDates("Which activity was James pursuing on March 16, 2022?")).toEqual([{ year: 2022, month: 3, day: 16 }])
    expect(queryDates("What did Maria start, as mentioned on 3 June, 2023?")).toEqual([{ year: 2023, month: 6, day: 3 }])
    expect(queryDates("on the 5th of May")).toEqual([{ year: undefined, month: 5, day: 5 }])
    expect(queryDates("Sept 5th")).toEqual([{ year: undefined, month: 9, day: 5 }])
    expect(queryDates("logged on 2023-05-08")).toEqual([{ year: 2023, month: 5, day: 8 }])
  })

  it("reads a month with or without its year, but not the verb may", () => {
    expect(queryDates("Where did Jolene spend most of September 2023?")).toEqual([{ year: 2023, month: 9, day: undefined }])
    expect(queryDates("When did Melanie go camping in July?")).toEqual([{ year: undefined, month: 7, day: undefined }])
    expect(queryDates("What may happen next?")).toEqual([])
    expect(queryDates("Did it happen in May 2023?")).toEqual([{ year: 2023, month: 5, day: undefined }])
  })

  it("names each date once, a day before the month around it, and ignores what is no date", () => {
    expect(queryDates("in May 2023, on 2023-05-08 and on May 8, 2023")).toEqual([
      { year: 2023, month: 5, day: 8 },
      { year: 2023, month: 5, day: undefined }
    ])
    expect(queryDates("What is my favourite colour?")).toEqual([])
    // No such day: only the month is read.
    expect(queryDates("on March 45, 2022")).toEqual([{ year: undefined, month: 3, day: undefined }])
  })

  it("matches the days evidence lines show, and gives index ranges for the mentions with a year", () => {
    const mentions = queryDates("on March 16, 2022 or in July")
    expect(dayMatches(mentions, "2022-03-16")).toBe(true)
    expect(dayMatches(mentions, "2023-03-16")).toBe(false)
    expect(dayMatches(mentions, "2019-07-30")).toBe(true)
    expect(mentionRanges(mentions)).toEqual([[Date.UTC(2022, 2, 16), Date.UTC(2022, 2, 17)]])
    expect(mentionRanges(queryDates("December 2023"))).toEqual([[Date.UTC(2023, 11, 1), Date.UTC(2024, 0, 1)]])
  })
})
