import { Context, Layer } from "effect"
import { COMBINED_EXTRACTION_KINDS, EXTRACTION_KINDS, type JobKind } from "../Domain/Job.js"

/**
 * Which extraction jobs a new memcell gets, chosen with the extractors that will run them: one
 * per kind, or one `memcell` job for all three (when the model answers everything in one call).
 * Without this service a memcell gets one job per kind.
 */
export class ExtractionPlan extends Context.Tag("engram/ExtractionPlan")<
  ExtractionPlan,
  { readonly jobKinds: ReadonlyArray<JobKind> }
>() {
  static readonly perKind = Layer.succeed(ExtractionPlan, { jobKinds: EXTRACTION_KINDS })
  static readonly combined = Layer.succeed(ExtractionPlan, { jobKinds: COMBINED_EXTRACTION_KINDS })
}
