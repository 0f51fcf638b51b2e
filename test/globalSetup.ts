import type { TestProject } from "vitest/node"
import { findBinaries, startCluster } from "./support/PostgresCluster.js"

/**
 * One throwaway PostgreSQL cluster for the whole run: tests on the Postgres engine read its URL
 * with `inject("postgres")` (each makes its own database in it). `ENGRAM_TEST_POSTGRES_URL` uses
 * an existing server instead. Without server binaries those tests are skipped, saying why.
 */
export default async function setup(project: TestProject) {
  const existing = process.env["ENGRAM_TEST_POSTGRES_URL"]
  if (existing !== undefined && existing !== "") {
    project.provide("postgres", { url: existing })
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
  project.provide("postgres", { url: cluster.url })
  return () => {
    process.off("exit", cluster.stop)
    cluster.stop()
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    postgres: { readonly url: string } | { readonly skipped: string }
  }
}
