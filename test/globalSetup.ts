import { Effect, Layer, Redacted } from "effect"
import Pg from "pg"
import type { TestProject } from "vitest/node"
import * as Database from "../src/Storage/Database.js"
import { findBinaries, startCluster } from "./support/PostgresCluster.js"

/** Migrated once per run; each test's database is a copy (CREATE DATABASE ... TEMPLATE is a file copy). */
const TEMPLATE = "engram_template"

const makeTemplate = async (adminUrl: string) => {
  const admin = new Pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`)
    await admin.query(`CREATE DATABASE ${TEMPLATE}`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${TEMPLATE}`
  // Building the layer migrates the database; closing its scope disconnects (a template must have no connections).
  await Effect.runPromise(Effect.scoped(Layer.build(Database.layerPostgres(Redacted.make(url.toString())))))
}

/**
 * One throwaway PostgreSQL cluster for the whole run: tests on the Postgres engine read its URL
 * with `inject("postgres")` (each makes its own database in it). `ENGRAM_TEST_POSTGRES_URL` uses
 * an existing server instead. Without server binaries those tests are skipped, saying why.
 */
export default async function setup(project: TestProject) {
  const existing = process.env["ENGRAM_TEST_POSTGRES_URL"]
  if (existing !== undefined && existing !== "") {
    await makeTemplate(existing)
    project.provide("postgres", { url: existing, template: TEMPLATE, throwaway: false })
    return
  }
  const found = findBinaries()
  if ("missing" in found) {
    console.warn(`[postgres] ${found.missing}: the Postgres engine's tests are skipped`)
    project.provide("postgres", { skipped: found.missing })
    return
  }
  const cluster = await startCluster(found.binDir)
  // Also on an interrupted run (vitest exits without teardown): the server never outlives us.
  process.once("exit", cluster.stop)
  await makeTemplate(cluster.url)
  project.provide("postgres", { url: cluster.url, template: TEMPLATE, throwaway: true })
  return () => {
    process.off("exit", cluster.stop)
    cluster.stop()
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    postgres:
      | {
        readonly url: string
        readonly template: string
        /** Ours, removed after the run: a test's database is left to go with it (DROP DATABASE checkpoints: slow). */
        readonly throwaway: boolean
      }
      | { readonly skipped: string }
  }
}
