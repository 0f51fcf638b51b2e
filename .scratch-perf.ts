import { Effect } from "effect"
import { Lexicon } from "./src/Text/Lexicon.js"
import { BoundaryDetector } from "./src/Memorize/BoundaryDetector.js"
import { LocalBoundaryDetector, localBoundaries } from "./src/Memorize/LocalBoundaryDetector.js"
import * as X from "./.scratch-topics.js"
import { JAPAN_TRIP, POSTGRES_REPLICATION, RECIPE, MARATHON_TRAINING } from "./test/Memorize/LocalBoundaryDetector.test.js"
const all = [JAPAN_TRIP, POSTGRES_REPLICATION, RECIPE, MARATHON_TRAINING, ...Object.values(X)]
const prog = Effect.gen(function*() {
  const lx = yield* Lexicon
  const det = yield* BoundaryDetector
  const make = (r: number) => { const out: string[] = []; let i = 0; while (out.length < 300) { for (const m of all[i % all.length]!) out.push(`${m} (${r}.${out.length})`); i++ } return out.slice(0, 300) }
  const msgs = (texts: string[]) => texts.map((text, i) => ({ sender_id: "u", sender_name: null, role: "user" as const, timestamp: i * 60000, text }))
  for (let r = 0; r < 30; r++) {
    const texts = make(r)
    const t0 = performance.now(); const terms = texts.map(lx.terms); const t1 = performance.now()
    const cuts = localBoundaries(terms, texts.map((_, i) => i)); const t2 = performance.now()
    const b = yield* det.detect(msgs(texts)); const t3 = performance.now()
    if (r % 5 === 4) console.log(`cold terms ${(t1 - t0).toFixed(2)}ms, algorithm ${(t2 - t1).toFixed(2)}ms, detect warm ${(t3 - t2).toFixed(2)}ms, cuts ${cuts.length}/${b.length}`)
  }
})
Effect.runPromise(prog.pipe(Effect.provide(LocalBoundaryDetector.layer), Effect.provide(Lexicon.Default)))
