import { evaluate, run } from "./.scratch-eval.js"
import { localBoundaries } from "./src/Memorize/LocalBoundaryDetector.js"
run(lx => {
  const rows: string[] = []
  for (const blockSize of [3, 4]) for (const fullMessageTerms of [4, 6, 8]) for (const minRelativeDepth of [0.4, 0.5, 0.6]) for (const minDepth of [0.1, 0.15]) for (const cutoffSdFactor of [0.5, 1]) {
    const o = { blockSize, fullMessageTerms, minRelativeDepth, minDepth, cutoffSdFactor }
    const f = (t: ReadonlyArray<ReadonlyArray<string>>) => localBoundaries(t, t.map((_, i) => i), o)
    const a = evaluate(lx, f, false, false), b = evaluate(lx, f, false, true)
    const score = a.miss * 2 + a.fp * 1.5 + b.miss * 2 + b.fp * 1.5 + (a.near + b.near) * 0.3
    rows.push(`${score.toFixed(1)} ${JSON.stringify(o)} ${JSON.stringify(a)} ${JSON.stringify(b)}`)
  }
  rows.sort((x, y) => parseFloat(x) - parseFloat(y)); console.log(rows.slice(0, 30).join("\n"))
})
