import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { Memory } from "../../src/Memorize/Memory.js"
import * as Database from "../../src/Storage/Database.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "../support/MemoryTestLayer.js"
import { locateIds } from "../support/Messages.js"

const run = promisify(execFile)
const worker = Path.join(import.meta.dirname, "..", "support", "ledgerWorker.ts")

it.live("two OS processes hammering one session on one database file lose and duplicate nothing", () =>
  Effect.gen(function*() {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-two-processes-"))
    const file = Path.join(dir, "engram.db")
    const layer = memoryTestLayer({ llm: () => boundaryAnswer([]), database: Database.layerFile(file) }).pipe(
      Layer.provide(textServices)
    )
    yield* Effect.gen(function*() {
      const memory = yield* Memory
      const spawn = (name: string, seed: number) =>
        Effect.promise(() => run(process.execPath, ["--import", "tsx", worker, file, name, "60", String(seed)], { timeout: 60_000 }))
      yield* Effect.all([spawn("p1", 7), spawn("p2", 11)], { concurrency: "unbounded" })

      const found = yield* locateIds(memory, "shared")
      const ids = new Set(found.all)
      expect(found.all.length).toBe(ids.size)
      // Each worker sent 60 batches; every id of every batch must be present.
      const perWorker = (name: string) => [...ids].filter((id) => id.startsWith(`${name}-`))
      for (const name of ["p1", "p2"]) {
        const batches = new Set(perWorker(name).map((id) => id.split("-")[1]))
        expect(batches.size).toBe(60)
        for (const id of perWorker(name)) {
          const [, b, i] = id.split("-")
          for (let j = 0; j < Number(i); j++) expect(ids.has(`${name}-${b}-${j}`)).toBe(true)
        }
      }
      expect(found.memcells.length).toBeGreaterThan(0)
    }).pipe(Effect.provide(layer))
    Fs.rmSync(dir, { recursive: true, force: true })
  }), 90_000)
