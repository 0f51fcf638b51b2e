import type { SqlClient } from "@effect/sql"
import { Effect, Layer, Redacted, type Scope } from "effect"
import Pg from "pg"
import { describe, inject } from "vitest"
import * as Database from "../../src/Storage/Database.js"

/**
 * The storage engines a contract test runs on, with the same test code: SQLite (always) and
 * Postgres (on the run's throwaway cluster, see test/globalSetup.ts; `skipped` says why not).
 */
export interface Engine {
  readonly name: "sqlite" | "postgres"
  /** Why this engine's tests do not run here, if they don't. */
  readonly skipped: string | undefined
  /** A fresh, empty, migrated database of this engine, dropped when the layer's scope closes. */
  readonly fresh: Layer.Layer<SqlClient.SqlClient>
  /** A fresh database reachable by other processes: its `ENGRAM_*` settings (SQLite: a file in `dataDir`). */
  readonly freshEnv: (dataDir: string) => Effect.Effect<Record<string, string>, never, Scope.Scope>
}

const postgresContext = () => inject("postgres")

let counter = 0

/** A copy of the migrated template (CREATE DATABASE on the admin connection); on a server not ours, DROP (forced: pools may still hold connections) on release. */
const scopedPostgresDatabase = (adminUrl: string, template: string, throwaway: boolean) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const name = `engram_t${process.pid}_${Date.now().toString(36)}_${counter++}`
      const admin = new Pg.Client({ connectionString: adminUrl })
      await admin.connect()
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`)
      } finally {
        await admin.end()
      }
      const url = new URL(adminUrl)
      url.pathname = `/${name}`
      return { name, url: url.toString() }
    }),
    ({ name }) =>
      throwaway ? Effect.void : Effect.promise(async () => {
        const admin = new Pg.Client({ connectionString: adminUrl })
        await admin.connect()
        try {
          await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        } finally {
          await admin.end()
        }
      })
  )

const sqlite: Engine = {
  name: "sqlite",
  skipped: undefined,
  fresh: Database.layerMemory,
  freshEnv: (dataDir) => Effect.succeed({ ENGRAM_DATA_DIR: dataDir })
}

const postgres = (): Engine => {
  const context = postgresContext()
  const [adminUrl, template, throwaway] = "url" in context ? [context.url, context.template, context.throwaway] : ["", "", true]
  return {
    name: "postgres",
    skipped: "skipped" in context ? context.skipped : undefined,
    fresh: Layer.unwrapScoped(
      Effect.map(scopedPostgresDatabase(adminUrl, template, throwaway), ({ url }) => Database.layerPostgres(Redacted.make(url)))
    ),
    freshEnv: (dataDir) =>
      Effect.map(scopedPostgresDatabase(adminUrl, template, throwaway), ({ url }) => ({ ENGRAM_DATA_DIR: dataDir, ENGRAM_DATABASE_URL: url }))
  }
}

/** Both engines, SQLite first. */
export const engines = (): ReadonlyArray<Engine> => [sqlite, postgres()]

/** Only Postgres (tests of what exists only there). */
export const postgresEngine = (): Engine => postgres()

/**
 * Declares `body`'s tests once per engine, in a describe block named after it; an engine that
 * cannot run here is declared skipped, with the reason in its name (so counts stay honest).
 */
export const forEachEngine = (body: (engine: Engine) => void): void => {
  for (const engine of engines()) {
    const title = engine.skipped === undefined ? engine.name : `${engine.name} (skipped: ${engine.skipped})`
    describe.skipIf(engine.skipped !== undefined)(title, () => body(engine))
  }
}
