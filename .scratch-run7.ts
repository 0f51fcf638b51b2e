import { run } from "./.scratch-eval.js"
import { algo, sims, type P } from "./.scratch-algo.js"
import { JAPAN_TRIP } from "./test/Memorize/LocalBoundaryDetector.test.js"
import { localBoundaries } from "./src/Memorize/LocalBoundaryDetector.js"
const base: P = { k: 4, weight: "tf", normMsg: true, dropHapax: false, smooth: 1, minSeg: 2, minTrail: 3, minDepth: 0.15, minRel: 0.5, sdF: 0.5, refine: true, F: 6, span: 100 }
run(lx => {
  const FILLERS = ["ok", "thanks!", "👍", "got it", "hmm", "sure, go on", "lol"]
  let f = 0
  const texts = JAPAN_TRIP.flatMap((m, i) => i % 3 === 1 ? [m, FILLERS[f++ % FILLERS.length]!] : [m])
  const t = texts.map(lx.terms)
  console.log(texts.map((x, i) => `${i + 1} ${x.slice(0, 40)}`).join("\n"))
  console.log(sims(t, base, 4).map(x => x.toFixed(2)).join(" "))
  console.log(algo(base)(t), localBoundaries(t, t.map((_, i) => i)))
})
