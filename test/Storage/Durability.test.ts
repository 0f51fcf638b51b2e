import { SqlClient } from "@effect/sql"
import { expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { makeEngram } from "../../src/Engram.js"
import * as Database from "../../src/Storage/Database.js"
import { configLayer } from "../support/MemoryTestLayer.js"

/** `PRAGMA synchronous` codes: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. An acknowledged write needs FULL or more. */
const FULL = 2

const SynchronousRow = Schema.Array(Schema.Struct({ synchronous: Schema.Number }))

const synchronousOf = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* Schema.decodeUnknown(SynchronousRow)(yield* sql.unsafe("PRAGMA synchronous"))
  return rows[0]!.synchronous
})

const journalModeOf = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql.unsafe<{ journal_mode: string }>("PRAGMA journal_mode")
  return rows[0]?.journal_mode
})

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-durability-"))

it.live("a database file is opened in WAL mode with synchronous = FULL", () =>
  Effect.gen(function*() {
    const dir = tempDir()
    const layer = Database.layerFile(Path.join(dir, Database.DATABASE_FILE))
    const [synchronous, journal] = yield* Effect.all([synchronousOf, journalModeOf]).pipe(Effect.provide(layer))
    expect(synchronous).toBeGreaterThanOrEqual(FULL)
    expect(journal).toBe("wal")
    Fs.rmSync(dir, { recursive: true, force: true })
  }))

it.live("the connection the configured application opens (ENGRAM_DATA_DIR) acknowledges only durable commits", () =>
  Effect.gen(function*() {
    const dir = tempDir()
    // The composition root's default database, exactly as `engram serve` builds it.
    const app = makeEngram().pipe(Layer.provide(configLayer({ ENGRAM_DATA_DIR: dir, ENGRAM_EMBEDDER: "off" })))
    const synchronous = yield* synchronousOf.pipe(Effect.provide(app))
    expect(synchronous).toBeGreaterThanOrEqual(FULL)
    Fs.rmSync(dir, { recursive: true, force: true })
  }))

it.live("the in-memory database used by tests is opened with the same setting", () =>
  Effect.gen(function*() {
    expect(yield* synchronousOf.pipe(Effect.provide(Database.layerMemory))).toBeGreaterThanOrEqual(FULL)
  }))
