import { evaluate, run } from "./.scratch-eval.js"
import { sims, type P } from "./.scratch-algo.js"
const base: P = { k: 4, weight: "tf", normMsg: true, dropHapax: false, smooth: 1, minSeg: 2, minTrail: 3, minDepth: 0.15, minRel: 0.5, sdF: 0.5, refine: true, F: 6, span: 100 }
run(lx => {
  for (const noisy of [false, true]) {
  const all: number[][] = []
  evaluate(lx, (terms) => { all.push(sims(terms, base, 4)); return [] }, false, noisy)
  console.log(all.map(s => s.map(x => x.toFixed(2)).join(" ")).join("\n"))
  }
})
