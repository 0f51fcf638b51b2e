import { evaluate, run } from "./.scratch-eval.js"
import { localBoundaries } from "./src/Memorize/LocalBoundaryDetector.js"
run(lx => { console.log(evaluate(lx, t => localBoundaries(t, t.map((_, i) => i)), true)) })
