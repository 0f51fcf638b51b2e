import { evaluate, run } from "./.scratch-eval.js"
import { algo, type P } from "./.scratch-algo.js"
const base: P = { k: 3, weight: "tf", normMsg: true, dropHapax: false, smooth: 1, minSeg: 2, minTrail: 3, minDepth: 0.15, minRel: 0.5, sdF: 0.5, refine: true, F: 0, span: 100 }
run(lx => {
  for (const noisy of [false, true]) {
    console.log("noisy", noisy)
    for (const [name, p] of [["base", base], ["k4", { ...base, k: 4 }], ["F4", { ...base, F: 4 }], ["F6", { ...base, F: 6 }], ["F8", { ...base, F: 8 }], ["F6k4", { ...base, F: 6, k: 4 }], ["F6idf2", { ...base, F: 6, weight: "tfidf2" }], ["F6span2", { ...base, F: 6, span: 2 }], ["F6span3", { ...base, F: 6, span: 3 }]] as const) {
      const row: Array<string> = []
      for (const minDepth of [0.05, 0.1, 0.15, 0.2, 0.25]) for (const minRel of [0.3, 0.5, 0.7]) { const r = evaluate(lx, algo({ ...p, minDepth, minRel }), false, noisy); row.push(`${minDepth}/${minRel}:${r.miss}m${r.fp}f${r.near}n`) }
      console.log(name, row.join(" "))
    }
  }
  console.log(evaluate(lx, algo({...base, F: 6}), true, true))
})
