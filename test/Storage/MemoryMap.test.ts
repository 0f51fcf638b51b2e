import { SqlClient } from "@effect/sql"
import { expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Database from "../../src/Storage/Database.js"

const MmapRow = Schema.Array(Schema.Struct({ mmap_size: Schema.Number }))

const mmapSizeOf = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return (yield* Schema.decodeUnknown(MmapRow)(yield* sql.unsafe("PRAGMA mmap_size")))[0]!.mmap_size
})

it.live("the database file is read through a memory map, by the main connection and by a reader's read-only one", () =>
  Effect.gen(function*() {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-mmap-"))
    const file = Path.join(dir, Database.DATABASE_FILE)
    // SQLite caps the size at its build's limit (just under 2 GB), so "at least 1 GB" says it is on.
    const main = yield* mmapSizeOf.pipe(Effect.provide(Database.layerFile(file)))
    const reader = yield* mmapSizeOf.pipe(Effect.provide(Database.layerReadOnlyFile(file)))
    expect(main).toBeGreaterThanOrEqual(2 ** 30)
    expect(reader).toBeGreaterThanOrEqual(2 ** 30)
    Fs.rmSync(dir, { recursive: true, force: true })
  }))
