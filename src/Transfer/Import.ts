import { SqlClient } from "@effect/sql"
import { Array as Arr, Chunk, Data, Effect, Either, ParseResult, Schema, Stream } from "effect"
import type { StorageError } from "../Domain/Errors.js"
import type { StoredMessage } from "../Domain/Message.js"
import { DerivedRepo } from "../Extraction/DerivedRepo.js"
import { LedgerRepo } from "../Ledger/LedgerRepo.js"
import { MemcellRepo } from "../Memorize/MemcellRepo.js"
import { withBusyRetry } from "../Storage/Database.js"
import {
  type EpisodeLine,
  type ExportLine,
  ExportLineFromJson,
  type FactLine,
  type ForesightLine,
  type MemcellLine,
  type MessageLine
} from "./Records.js"

/** A line of the file is not a line of an export; nothing from it on is imported. */
export class ImportLineInvalid extends Data.TaggedError("ImportLineInvalid")<{ readonly line: number; readonly reason: string }> {
  override get message() {
    return `line ${this.line}: ${this.reason}`
  }
}

/** Lines decoded and written together (one transaction per kind): memory stays bounded by it. */
const CHUNK = 500
/** Longest excerpt of a decode error shown. */
const MAX_REASON_CHARS = 300

export interface ImportCounts {
  readonly messages: number
  readonly memcells: number
  readonly episodes: number
  readonly facts: number
  readonly foresight: number
}

export interface ImportResult {
  /** Lines read, header included. */
  readonly lines: number
  /** Rows of each kind in the file. */
  readonly read: ImportCounts
  /** Rows that were new to this database (the rest were already there: importing twice adds nothing). */
  readonly inserted: ImportCounts
}

const zero: ImportCounts = { messages: 0, memcells: 0, episodes: 0, facts: 0, foresight: 0 }
const add = (a: ImportCounts, b: ImportCounts): ImportCounts => ({
  messages: a.messages + b.messages,
  memcells: a.memcells + b.memcells,
  episodes: a.episodes + b.episodes,
  facts: a.facts + b.facts,
  foresight: a.foresight + b.foresight
})

/**
 * `engram import`: loads an export into this database, idempotently (rows already there are left
 * as they are). Streams: each chunk of lines is decoded with the export's Schema and written by
 * the owner of its table before the next is read. Engine-neutral (plain `@effect/sql`).
 */
export class Importer extends Effect.Service<Importer>()("engram/Importer", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const ledger = yield* LedgerRepo
    const memcells = yield* MemcellRepo
    const derived = yield* DerivedRepo
    const decodeLine = Schema.decodeUnknownEither(ExportLineFromJson)

    const decode = (text: string, line: number): Effect.Effect<ExportLine, ImportLineInvalid> =>
      Either.match(decodeLine(text), {
        onLeft: (error) =>
          Effect.fail(
            new ImportLineInvalid({ line, reason: ParseResult.TreeFormatter.formatErrorSync(error).slice(0, MAX_REASON_CHARS) })
          ),
        onRight: (decoded) =>
          line === 1 && decoded._tag !== "engram_export"
            ? Effect.fail(new ImportLineInvalid({ line, reason: "the first line must be an engram_export header" }))
            : line !== 1 && decoded._tag === "engram_export"
            ? Effect.fail(new ImportLineInvalid({ line, reason: "a second header: files cannot be concatenated" }))
            : Effect.succeed(decoded)
      })

    const writeChunk = (lines: ReadonlyArray<ExportLine>) =>
      Effect.gen(function*() {
        const messages: Array<Omit<MessageLine, "_tag">> = []
        const cells: Array<Omit<MemcellLine, "_tag">> = []
        const episodes: Array<Omit<EpisodeLine, "_tag">> = []
        const facts: Array<Omit<FactLine, "_tag">> = []
        const foresight: Array<Omit<ForesightLine, "_tag">> = []
        for (const line of lines) {
          switch (line._tag) {
            case "engram_export":
              break
            case "message": {
              const { _tag, ...row } = line
              messages.push(row)
              break
            }
            case "memcell": {
              const { _tag, ...row } = line
              cells.push(row)
              break
            }
            case "episode": {
              const { _tag, ...row } = line
              episodes.push(row)
              break
            }
            case "fact": {
              const { _tag, ...row } = line
              facts.push(row)
              break
            }
            case "foresight": {
              const { _tag, ...row } = line
              foresight.push(row)
              break
            }
          }
        }
        // In the order of their references: messages, memcells, then what was derived from them.
        const insertedMessages = yield* ledger.importMessages(messages)
        const insertedCells = yield* memcells.importMemcells(cells)
        // An episode's passages are its memcell's lines: read them before the write transaction.
        const sources = new Map<string, ReadonlyArray<StoredMessage>>()
        for (const id of Arr.dedupe(episodes.map((e) => e.memcell_id))) sources.set(id, yield* ledger.ofMemcell(id))
        const [insertedEpisodes, insertedFacts, insertedForesight] = yield* Effect.all([
          derived.importEpisodes(episodes, (id) => sources.get(id) ?? []),
          derived.importFacts(facts),
          derived.importForesight(foresight)
        ]).pipe(sql.withTransaction, withBusyRetry("import derived memory"))
        return {
          read: { messages: messages.length, memcells: cells.length, episodes: episodes.length, facts: facts.length, foresight: foresight.length },
          inserted: { messages: insertedMessages, memcells: insertedCells, episodes: insertedEpisodes, facts: insertedFacts, foresight: insertedForesight }
        }
      })

    /** `lines` are the file's lines in order; `progress` is told how many were imported so far. */
    const run = <E>(
      lines: Stream.Stream<string, E>,
      progress: (linesDone: number) => Effect.Effect<void>
    ): Effect.Effect<ImportResult, E | ImportLineInvalid | StorageError> =>
      lines.pipe(
        Stream.zipWithIndex,
        Stream.filter(([text]) => text.trim() !== ""),
        Stream.mapEffect(([text, index]) => Effect.map(decode(text, index + 1), (line) => [line, index + 1] as const)),
        Stream.grouped(CHUNK),
        Stream.runFoldEffect({ lines: 0, read: zero, inserted: zero } satisfies ImportResult, (total, chunk) =>
          Effect.gen(function*() {
            const decoded = Chunk.toReadonlyArray(chunk)
            const counts = yield* writeChunk(decoded.map(([line]) => line))
            const lastLine = decoded[decoded.length - 1]![1]
            yield* progress(lastLine)
            return { lines: lastLine, read: add(total.read, counts.read), inserted: add(total.inserted, counts.inserted) }
          }))
      )

    return { run } as const
  })
}) {}
