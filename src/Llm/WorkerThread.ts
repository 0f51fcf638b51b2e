import { Worker } from "node:worker_threads"

/**
 * Starts a worker thread on `entry`. Engram runs from TypeScript sources through tsx, and Node 20
 * does not apply a parent's `--import tsx` to a worker's entry module: a `.ts` entry is loaded by
 * TsWorkerBoot.mjs, which registers tsx first. `data` reaches the entry as `workerData.data`.
 */
export const spawnThread = (entry: URL, data?: unknown): Worker =>
  entry.pathname.endsWith(".ts")
    ? new Worker(new URL("./TsWorkerBoot.mjs", import.meta.url), { workerData: { entry: entry.href, data } })
    : new Worker(entry, { workerData: { data } })

/** The entry module next to `base` named `name`, with the extension the running code has (.ts under tsx, .js built). */
export const siblingEntry = (name: string, base: string) =>
  new URL(`./${name}${base.endsWith(".ts") ? ".ts" : ".js"}`, base)
