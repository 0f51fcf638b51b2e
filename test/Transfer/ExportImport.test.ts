import type { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, Schema, Stream } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { GetRequest } from "../../src/Domain/GetRequest.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { MemoryReader } from "../../src/Reading/MemoryReader.js"
import * as Database from "../../src/Storage/Database.js"
import { Exporter } from "../../src/Transfer/Export.js"
import { Importer } from "../../src/Transfer/Import.js"
import { postgresEngine } from "../support/Engines.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "../support/MemoryTestLayer.js"
import { addRequest, BASE_TS, keyOf, userMessage } from "../support/Messages.js"

/** Cuts after the second message of every window: memcells, and a buffer left over. */
const cutAfterTwo = () => boundaryAnswer([2])

const SESSIONS = ["trip", "garden"] as const
const USERS = ["alice", "bob"] as const

const appWith = (database: Layer.Layer<SqlClient.SqlClient>) =>
  memoryTestLayer({ llm: cutAfterTwo, extractors: "local", background: true, database })

const appOn = (file: string) => appWith(Database.layerFile(file))

/** Everything the session and get endpoints answer for the test's sessions and users. */
const observable = Effect.gen(function*() {
  const memory = yield* Memory
  const reader = yield* MemoryReader
  const sessions = yield* Effect.forEach(SESSIONS, (s) => memory.session(keyOf(s)))
  const gets = yield* Effect.forEach(USERS, (user_id) =>
    Effect.forEach(["episode", "atomic_fact", "foresight"] as const, (memory_type) =>
      Effect.flatMap(Schema.decodeUnknown(GetRequest)({ user_id, memory_type, page_size: 100 }), (request) => reader.get(request))))
  return { sessions, gets }
})

const exportAll = Effect.gen(function*() {
  const exporter = yield* Exporter
  const lines: Array<string> = []
  yield* exporter.run(Option.none(), (page) => Effect.sync(() => lines.push(...page)), () => Effect.void)
  return lines
})

const importLines = (lines: ReadonlyArray<string>) =>
  Effect.flatMap(Importer, (importer) => importer.run(Stream.fromIterable(lines), () => Effect.void))

/**
 * Two sessions of two users, one fully closed and extracted, the other with messages still
 * buffered: the export's lines and what session and get answer.
 */
const seedAndExport = Effect.gen(function*() {
  const memory = yield* Memory
  for (const [s, session] of SESSIONS.entries()) {
    for (let b = 0; b < 4; b++) {
      const messages = Array.from({ length: 3 }, (_, i) =>
        userMessage(s * 100 + b * 10 + i, USERS[(b + i) % 2]!, BASE_TS + (s * 100 + b * 10 + i) * 60_000, {
          content: `We should plan the ${session} next week, I will be there tomorrow at 10 (${b}/${i})`
        }))
      yield* memory.add(addRequest(session, messages))
    }
  }
  const flushed = yield* memory.flush({ ...keyOf("trip") }, { wait: "60 seconds" })
  expect(flushed.extraction_complete).toBe(true)
  return [yield* exportAll, yield* observable] as const
})

/** Imports `lines` twice into a fresh app: the counts of each import, and what it answers after each. */
const importTwice = (lines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const first = yield* importLines(lines)
    const after = yield* observable
    const second = yield* importLines(lines)
    return [first, second, after, yield* observable] as const
  })

describe("engram export / import", () => {
  {
    it.live("a round trip SQLite -> SQLite keeps what session and get answer; importing twice changes nothing", () =>
      Effect.gen(function*() {
        const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-transfer-"))
        const source = Path.join(dir, "source.db")
        const target = Path.join(dir, "target.db")

        const [lines, before] = yield* seedAndExport.pipe(Effect.provide(appOn(source)))

        expect(before.sessions[0]!.memcells.length).toBeGreaterThan(0)
        expect(before.sessions[1]!.buffered.length).toBeGreaterThan(0)
        expect(before.gets.flat().some((page) => JSON.stringify(page).includes("memcell_id"))).toBe(true)

        const [first, second, after, again] = yield* importTwice(lines).pipe(Effect.provide(Layer.fresh(appOn(target))))

        expect(first.inserted).toEqual(first.read)
        expect(first.read.messages).toBe(24)
        expect(second.inserted).toEqual({ messages: 0, memcells: 0, episodes: 0, facts: 0, foresight: 0 })
        expect(after).toEqual(before)
        expect(again).toEqual(before)
        Fs.rmSync(dir, { recursive: true, force: true })
      }).pipe(Effect.provide(textServices)))

    const postgres = postgresEngine()
    it.live.skipIf(postgres.skipped !== undefined)(
      "a round trip SQLite -> Postgres -> SQLite keeps what session and get answer; importing twice changes nothing on either engine",
      () =>
        Effect.gen(function*() {
          const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-transfer-"))
          const [lines, before] = yield* seedAndExport.pipe(Effect.provide(appOn(Path.join(dir, "source.db"))))
          expect(before.sessions[0]!.memcells.length).toBeGreaterThan(0)
          expect(before.sessions[1]!.buffered.length).toBeGreaterThan(0)

          const [onPg, viaPg] = yield* Effect.gen(function*() {
            const imported = yield* importTwice(lines)
            return [imported, yield* exportAll] as const
          }).pipe(Effect.provide(Layer.fresh(appWith(postgres.fresh))))
          const [pgFirst, pgSecond, pgAfter, pgAgain] = onPg
          expect(pgFirst.inserted).toEqual(pgFirst.read)
          expect(pgSecond.inserted).toEqual({ messages: 0, memcells: 0, episodes: 0, facts: 0, foresight: 0 })
          expect(pgAfter).toEqual(before)
          expect(pgAgain).toEqual(before)

          const [first, second, after, again] = yield* importTwice(viaPg).pipe(
            Effect.provide(Layer.fresh(appOn(Path.join(dir, "target.db"))))
          )
          expect(first.inserted).toEqual(pgFirst.inserted)
          expect(second.inserted).toEqual({ messages: 0, memcells: 0, episodes: 0, facts: 0, foresight: 0 })
          expect(after).toEqual(before)
          expect(again).toEqual(before)
          Fs.rmSync(dir, { recursive: true, force: true })
        }).pipe(Effect.provide(textServices))
    )

    it.effect("a bad line is refused with its line number", () =>
      Effect.gen(function*() {
        const lines = yield* exportAll
        const header = lines[0]!
        const bad = JSON.stringify({ _tag: "message", message_id: "m1" })
        const result = yield* Effect.either(importLines([header, bad]))
        expect(Either.isLeft(result) && result.left._tag === "ImportLineInvalid" && result.left.line).toBe(2)
        const noHeader = yield* Effect.either(importLines(["{}"]))
        expect(Either.isLeft(noHeader) && noHeader.left._tag === "ImportLineInvalid" && noHeader.left.line).toBe(1)
      }).pipe(Effect.provide(memoryTestLayer({ llm: cutAfterTwo })), Effect.provide(textServices)))
  }
})
