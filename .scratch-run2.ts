import { evaluate, run } from "./.scratch-eval.js"
import { algo, type P } from "./.scratch-algo.js"
const base: P = { k: 3, weight: "tfidf", normMsg: true, dropHapax: false, smooth: 0, minSeg: 2, minTrail: 3, minDepth: 0.15, minRel: 0.5, sdF: 0.5, refine: false }
run(lx => {
  const rows: Array<[string, unknown]> = []
  for (const weight of ["tf", "tfidf", "bin", "tfidf2"] as const) for (const k of [2, 3, 4, 5]) for (const smooth of [0, 1]) for (const refine of [false, true]) for (const normMsg of [true, false]) for (const dropHapax of [false, true]) for (const minSeg of [2, 3]) {
    const p = { ...base, weight, k, smooth, refine, normMsg, dropHapax, minSeg }
    const r = evaluate(lx, algo(p))
    rows.push([JSON.stringify({ weight, k, smooth, refine, normMsg, dropHapax, minSeg }), r])
  }
  rows.sort((a: any, b: any) => (a[1].miss * 2 + a[1].fp + a[1].near * 0.5) - (b[1].miss * 2 + b[1].fp + b[1].near * 0.5))
  for (const r of rows.slice(0, 25)) console.log(r[0], JSON.stringify(r[1]))
})
