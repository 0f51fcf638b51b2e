import { Effect } from "effect"
import { Lexicon } from "./src/Text/Lexicon.js"
import { JAPAN_TRIP, POSTGRES_REPLICATION, RECIPE } from "./test/Memorize/LocalBoundaryDetector.test.js"
const prog = Effect.gen(function*() {
  const lx = yield* Lexicon
  const texts = [...JAPAN_TRIP, ...POSTGRES_REPLICATION, ...RECIPE]
  const terms = texts.map(lx.terms)
  const n = terms.length
  const df = new Map<string, number>()
  for (const t of terms) for (const w of new Set(t)) df.set(w, (df.get(w) ?? 0) + 1)
  const vec = terms.map(t => { const tf = new Map<string, number>(); for (const w of t) tf.set(w, (tf.get(w) ?? 0) + 1); const v = new Map<string, number>(); let nn = 0; for (const [w, c] of tf) { const x = (1 + Math.log(c)) * Math.log(1 + n / df.get(w)!); v.set(w, x); nn += x * x }; for (const [w, x] of v) v.set(w, x / Math.sqrt(nn)); return v })
  const sum = (a: number, b: number) => { const s = new Map<string, number>(); for (let i = a; i <= b; i++) for (const [w, x] of vec[i - 1]!) s.set(w, (s.get(w) ?? 0) + x); return s }
  const cos = (p: Map<string, number>, q: Map<string, number>) => { let d = 0, a = 0, b = 0; for (const [w, x] of p) { a += x * x; d += x * (q.get(w) ?? 0) } for (const [, x] of q) b += x * x; return d / Math.sqrt(a * b) }
  for (const [a, b, c, d] of [[1,6,7,8],[7,8,9,16],[1,8,9,16],[9,16,17,22],[3,6,7,8],[1,4,5,8],[9,12,13,16],[9,13,14,16],[17,19,20,22],[1,3,4,6]]) console.log(`[${a}-${b}] vs [${c}-${d}]`, cos(sum(a!, b!), sum(c!, d!)).toFixed(3))
})
Effect.runPromise(prog.pipe(Effect.provide(Lexicon.Default)))
