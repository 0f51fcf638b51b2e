import { run } from "./.scratch-eval.js"
import { sims, type P } from "./.scratch-algo.js"
import * as X from "./.scratch-topics.js"
import { RECIPE } from "./test/Memorize/LocalBoundaryDetector.test.js"
const T: Record<string, ReadonlyArray<string>> = { ...X, RECIPE }
const base: P = { k: 4, weight: "tf", normMsg: true, dropHapax: false, smooth: 1, minSeg: 2, minTrail: 3, minDepth: 0.15, minRel: 0.5, sdF: 0.5, refine: true, F: 6, span: 3 }
run(lx => {
  for (const c of [["MOVIE", "MOVE"], ["MOVIE", "TAXES", "DOG"], ["MOVE", "MOVIE", "GARDEN", "LAPTOP", "WIFI", "GIFT", "DOG", "RECIPE"]]) {
    const texts = c.flatMap(n => T[n]!)
    const t = texts.map(lx.terms)
    for (const k of [2, 3, 4]) console.log(k, sims(t, base, k).map((x, i) => `${i + 1}:${x.toFixed(2)}`).join(" "))
  }
  for (const n of ["MOVIE", "MOVE", "DOG"]) for (const x of T[n]!) console.log(lx.terms(x).join(" "))
})
