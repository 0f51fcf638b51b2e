import { run } from "./.scratch-eval.js"
import { localBoundaries } from "./src/Memorize/LocalBoundaryDetector.js"
import * as X from "./.scratch-topics.js"
import { JAPAN_TRIP, POSTGRES_REPLICATION, RECIPE, MARATHON_TRAINING } from "./test/Memorize/LocalBoundaryDetector.test.js"
const T: Record<string, ReadonlyArray<string>> = { ...X, JAPAN_TRIP, POSTGRES_REPLICATION, RECIPE, MARATHON_TRAINING }
const convs = [["MOVIE", "LAPTOP", "DOG", "MOVE"], ["DOG", "MOVIE"], ["LAPTOP", "MOVE", "RUST"], ["MOVE", "DOG", "LAPTOP"], ["MOVIE", "TAXES", "DOG"], ["LAPTOP"], ["DOG"], ["MOVE", "MOVIE", "GARDEN", "LAPTOP", "WIFI", "GIFT", "DOG", "RECIPE"], ["MOVIE","MOVE"]]
run(lx => {
  for (const c of convs) {
    const texts = c.flatMap(n => T[n]!); const truth: number[] = []; let a = 0; for (const n of c.slice(0, -1)) { a += T[n]!.length; truth.push(a) }
    console.log(c.join("+"), "truth", truth, "cuts", localBoundaries(texts.map(lx.terms), texts.map((_, i) => i)))
  }
})
