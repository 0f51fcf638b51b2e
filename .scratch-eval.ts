import { Effect } from "effect"
import { Lexicon } from "./src/Text/Lexicon.js"
import { JAPAN_TRIP, POSTGRES_REPLICATION, RECIPE, MARATHON_TRAINING } from "./test/Memorize/LocalBoundaryDetector.test.js"
import { WIFI, GIFT, RUST, TAXES, GARDEN, MOVIE, LAPTOP, DOG, MOVE } from "./.scratch-topics.js"

const T: Record<string, ReadonlyArray<string>> = { JAPAN_TRIP, POSTGRES_REPLICATION, RECIPE, MARATHON_TRAINING, WIFI, GIFT, RUST, TAXES, GARDEN, MOVIE, LAPTOP, DOG, MOVE }
const convs: Array<Array<string>> = [
  ["JAPAN_TRIP", "POSTGRES_REPLICATION", "RECIPE"], ["MARATHON_TRAINING"], ["WIFI", "GIFT", "RUST"], ["TAXES", "GARDEN", "JAPAN_TRIP"],
  ["RUST", "POSTGRES_REPLICATION"], ["GIFT", "TAXES", "WIFI", "RECIPE"], ["GARDEN", "MARATHON_TRAINING"], ["RECIPE", "JAPAN_TRIP"],
  ["WIFI"], ["RUST"], ["JAPAN_TRIP"], ["POSTGRES_REPLICATION"], ["GARDEN", "GIFT"], ["TAXES", "RUST", "GARDEN", "WIFI"],
]
const heldOut = [["MOVIE", "LAPTOP", "DOG", "MOVE"], ["DOG", "MOVIE"], ["LAPTOP", "MOVE", "RUST"], ["MOVE", "DOG", "LAPTOP"], ["MOVIE", "TAXES", "DOG"], ["LAPTOP"], ["DOG"], ["MOVE", "MOVIE", "GARDEN", "LAPTOP", "WIFI", "GIFT", "DOG", "RECIPE"], ["MOVIE","MOVE"]]
if (process.env.HELD === "1") convs.push(...heldOut)
if (process.env.HELD === "2") convs.splice(0, convs.length, ...heldOut)
export type Algo = (terms: ReadonlyArray<ReadonlyArray<string>>) => ReadonlyArray<number>
const FILLERS = ["ok", "thanks!", "👍", "got it", "hmm", "sure, go on", "lol"]
export const evaluate = (lx: { terms: (s: string) => ReadonlyArray<string> }, algo: Algo, verbose = false, noisy = false) => {
  let exact = 0, near = 0, miss = 0, fp = 0
  for (const c of convs) {
    let f = 0
    const topics = c.map(name => noisy ? T[name]!.flatMap((m, i) => i % 3 === 1 ? [m, FILLERS[f++ % FILLERS.length]!] : [m]) : T[name]!)
    const texts = topics.flat()
    const truth: Array<number> = []; let acc = 0
    for (const t of topics.slice(0, -1)) { acc += t.length; truth.push(acc) }
    const cuts = algo(texts.map(lx.terms))
    for (const t of truth) { if (cuts.includes(t)) exact++; else if (cuts.some(x => Math.abs(x - t) <= 1)) near++; else miss++ }
    for (const x of cuts) if (!truth.some(t => Math.abs(x - t) <= 1)) fp++
    if (verbose) console.log(c.join("+"), "truth", truth, "cuts", cuts)
  }
  return { exact, near, miss, fp }
}
export const run = (f: (lx: { terms: (s: string) => ReadonlyArray<string> }) => void) =>
  Effect.runPromise(Effect.gen(function*() { f(yield* Lexicon) }).pipe(Effect.provide(Lexicon.Default)))
