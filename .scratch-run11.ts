import { evaluate, run } from "./.scratch-eval.js"
import { localBoundaries } from "./src/Memorize/LocalBoundaryDetector.js"
const o = JSON.parse(process.env.O ?? "{}")
run(lx => {
  const f = (t: ReadonlyArray<ReadonlyArray<string>>) => localBoundaries(t, t.map((_, i) => i), o)
  console.log(evaluate(lx, f, true, false)); console.log(evaluate(lx, f, true, true))
})
