import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted, Schedule } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { ExtractionSignal } from "../../src/Jobs/ExtractionSignal.js"
import * as Database from "../../src/Storage/Database.js"
import { postgresEngine } from "../support/Engines.js"

const engine = postgresEngine()

/** One node's signal on its own connection pool to the shared database. */
const nodeSignal = (url: string) =>
  Effect.map(
    Layer.build(ExtractionSignal.Default.pipe(Layer.provide(Database.layerPostgres(Redacted.make(url))))),
    (context) => Context.get(context, ExtractionSignal)
  )

describe.skipIf(engine.skipped !== undefined)(`postgres: job wake-ups cross nodes${engine.skipped === undefined ? "" : ` (skipped: ${engine.skipped})`}`, () => {
  it.scopedLive("a commit signalled on one node wakes the idle workers of another (LISTEN/NOTIFY)", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-wake-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const { ENGRAM_DATABASE_URL: url } = yield* engine.freshEnv(dir)
      const a = yield* nodeSignal(url!)
      const b = yield* nodeSignal(url!)
      // B's LISTEN starts in the background: A signals until B wakes. Only A is ever signalled
      // locally, so B can only wake through the database.
      yield* a.notify.pipe(Effect.repeat(Schedule.spaced("100 millis")), Effect.fork)
      const woke = yield* b.next.pipe(Effect.as(true), Effect.timeoutTo({ duration: "60 seconds", onTimeout: () => false, onSuccess: (x) => x }))
      expect(woke).toBe(true)
    }))
})
