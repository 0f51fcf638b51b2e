import { evaluate, run } from "./.scratch-eval.js"
import { algo, type P } from "./.scratch-algo.js"
const base: P = { k: 4, weight: "tf", normMsg: true, dropHapax: false, smooth: 1, minSeg: 2, minTrail: 3, minDepth: 0.15, minRel: 0.5, sdF: 0.5, refine: true, F: 6, span: 100 }
run(lx => {
  for (const k of [3, 4, 5]) for (const F of [0, 4, 6, 8, 10]) for (const minRel of [0.4, 0.5, 0.6]) for (const smooth of [0, 1, 2]) for (const minSeg of [2, 3]) {
    const p = { ...base, k, F, minRel, smooth, minSeg }
    const a = evaluate(lx, algo(p), false, false), b = evaluate(lx, algo(p), false, true)
    const score = a.miss * 2 + a.fp + b.miss * 2 + b.fp + (a.near + b.near) * 0.3
    console.log(score.toFixed(1), JSON.stringify({ k, F, minRel, smooth, minSeg }), JSON.stringify(a), JSON.stringify(b))
  }
})
