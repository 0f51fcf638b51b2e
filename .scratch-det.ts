import { Effect } from "effect"
import { Lexicon } from "./src/Text/Lexicon.js"
import { gapSimilarities, localBoundaries } from "./src/Memorize/LocalBoundaryDetector.js"
import { JAPAN_TRIP, POSTGRES_REPLICATION, RECIPE, MARATHON_TRAINING } from "./test/Memorize/LocalBoundaryDetector.test.js"
const prog = Effect.gen(function*() {
  const lx = yield* Lexicon
  for (const texts of [[...JAPAN_TRIP, ...POSTGRES_REPLICATION, ...RECIPE], MARATHON_TRAINING, [...MARATHON_TRAINING.slice(0,10), ...RECIPE, ...POSTGRES_REPLICATION.slice(0, 5)], [...RECIPE, ...JAPAN_TRIP]]) {
  const terms = texts.map(lx.terms)
  
  for (const k of [3]) {
  const sims = gapSimilarities(terms, k)
  console.log(k, Array.from(sims).map((s, i) => `${i + 1}:${s.toFixed(2)}`).join(" "))
  console.log(localBoundaries(terms, texts.map((_, i) => i), {blockSize:k}))}}
})
Effect.runPromise(prog.pipe(Effect.provide(Lexicon.Default)))
