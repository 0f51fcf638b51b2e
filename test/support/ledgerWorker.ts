/**
 * A separate OS process that hammers one session of a shared database file. Used by the
 * two-process test: argv = <db file> <worker name> <batches> <seed>.
 */
import { Effect, Layer } from "effect"
import * as Database from "../../src/Storage/Database.js"
import { Memory } from "../../src/Memorize/Memory.js"
import { boundaryAnswer, memoryTestLayer, textServices } from "./MemoryTestLayer.js"
import { addRequest, BASE_TS, keyOf, userMessage } from "./Messages.js"

const [file, worker, batchesArg, seedArg] = process.argv.slice(2)
const batches = Number(batchesArg)
let state = Number(seedArg)
const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31

const program = Effect.gen(function*() {
  const memory = yield* Memory
  for (let b = 0; b < batches; b++) {
    const messages = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) =>
      userMessage(b * 10 + i, worker!, BASE_TS + b * 10_000 + i * 100, { message_id: `${worker}-${b}-${i}` }))
    yield* memory.add(addRequest("shared", messages))
    if (random() < 0.1) yield* memory.flush(keyOf("shared"))
  }
})

const layer = memoryTestLayer({
  // A model that takes a moment and cuts somewhere, so both processes commit often.
  llm: () => Effect.as(Effect.sleep(`${Math.floor(random() * 3)} millis`), boundaryAnswer([1 + Math.floor(random() * 3)])),
  database: Database.layerFile(file!)
}).pipe(Layer.provide(textServices))

Effect.runPromise(program.pipe(Effect.provide(layer))).then(
  () => process.exit(0),
  (error) => {
    console.error(String(error))
    process.exit(1)
  }
)
