import { evaluate, run } from "./.scratch-eval.js"
import { localBoundaries } from "./src/Memorize/LocalBoundaryDetector.js"
run(lx => {
  for (const fullMessageTerms of [4, 5, 6, 7, 8, 10]) for (const minRelativeDepth of [0.35, 0.4, 0.45]) for (const minDepth of [0.1]) for (const cutoffSdFactor of [1]) {
    const o = { blockSize: 3, fullMessageTerms, minRelativeDepth, minDepth, cutoffSdFactor }
    const f = (t: ReadonlyArray<ReadonlyArray<string>>) => localBoundaries(t, t.map((_, i) => i), o)
    const a = evaluate(lx, f, false, false), b = evaluate(lx, f, false, true)
    console.log(`${JSON.stringify(o)} clean m${a.miss} f${a.fp} n${a.near}  noisy m${b.miss} f${b.fp} n${b.near}`)
  }
})
