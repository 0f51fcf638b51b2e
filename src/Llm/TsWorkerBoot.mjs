// Entry of a worker thread whose real entry is TypeScript: Node 20 does not apply the parent's
// `--import tsx` to a worker's entry module, so tsx is registered here, then the entry is loaded.
import { workerData } from "node:worker_threads"
import { register } from "tsx/esm/api"

register()
await import(workerData.entry)
