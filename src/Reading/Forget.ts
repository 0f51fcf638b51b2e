import { SqlClient, type Statement } from "@effect/sql"
import { Array as Arr, Effect, Schema } from "effect"
import type { DeleteCounts, DeleteRequest } from "../Domain/DeleteRequest.js"
import { JobQueue } from "../Jobs/JobQueue.js"
import { AgentRepo } from "../AgentTrack/AgentRepo.js"
import { ProfileRepo } from "../Profiles/ProfileRepo.js"
import { withBusyRetry } from "../Storage/Database.js"
import { unindexed } from "../Storage/Dialect.js"

/** Ids per `IN (...)`: far below SQLite's bound-parameter limit, however many memcells a user has. */
const CHUNK = 500

const MemcellIds = Schema.Array(Schema.Struct({ memcell_id: Schema.String }))
const Changes = Schema.Array(Schema.Struct({ n: Schema.Number }))

type Table = "episodes" | "atomic_facts" | "foresight" | "messages" | "memcells"

/**
 * Deletes memory at its source: messages and memcells, with every job and derived row of those
 * memcells, in one short SQL-only transaction within one (app, project).
 *
 * A memcell goes whole or not at all: deleting a user's messages removes every memcell holding one
 * of them, other senders' messages included, because derived memory must never outlive (or be
 * built from part of) its source. Buffered messages are matched directly. An extraction job running
 * meanwhile cannot bring anything back: its result transaction finds its job and memcell gone.
 */
export class Forget extends Effect.Service<Forget>()("engram/Forget", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const jobs = yield* JobQueue
    const profiles = yield* ProfileRepo
    const agents = yield* AgentRepo

    /**
     * Runs one DELETE (given without its RETURNING) and returns the rows it removed itself (rows
     * removed by triggers are not counted): RETURNING reports exactly those, on either engine.
     */
    const removed = (statement: Statement.Fragment) =>
      sql`${statement} RETURNING 1 AS n`.pipe(
        Effect.flatMap((rows) => Effect.orDie(Schema.decodeUnknown(Changes)(rows))),
        Effect.map((rows) => rows.length)
      )

    const remove = (request: DeleteRequest) =>
      Effect.gen(function*() {
        const scope = sql`app_id = ${request.app_id} AND project_id = ${request.project_id}`
        const cellConditions: Array<Statement.Fragment> = [scope]
        if (request.session_id !== undefined) cellConditions.push(sql`session_id = ${request.session_id}`)
        if (request.memcell_ids !== undefined) cellConditions.push(sql.in("memcell_id", request.memcell_ids))
        if (request.user_id !== undefined) {
          cellConditions.push(sql`memcell_id IN (
            SELECT memcell_id FROM messages
            WHERE ${scope} AND sender_id = ${request.user_id} AND memcell_id IS NOT NULL)`)
        }
        // Materialized first: the user condition reads messages, which are deleted below.
        const cells = yield* sql`SELECT memcell_id FROM memcells WHERE ${sql.and(cellConditions)}`.pipe(
          Effect.flatMap((rows) => Effect.orDie(Schema.decodeUnknown(MemcellIds)(rows)))
        )
        const counts = { messages: 0, memcells: 0, episodes: 0, atomic_facts: 0, foresight: 0, jobs: 0 }
        // The ids are already in scope; the scope terms stay as a guard, and their unary `+` keeps
        // SQLite on the memcell_id index (EXPLAIN QUERY PLAN otherwise shows a scan of the whole scope).
        const guard = sql`${unindexed(sql, "app_id")} = ${request.app_id} AND ${unindexed(sql, "project_id")} = ${request.project_id}`
        const ofCells = (table: Table, ids: ReadonlyArray<string>) =>
          removed(sql`DELETE FROM ${sql.literal(table)} WHERE ${guard} AND ${sql.in("memcell_id", ids)}`)

        for (const ids of Arr.chunksOf(cells.map((c) => c.memcell_id), CHUNK)) {
          // Derived rows and jobs first, the source last (plain DELETEs: index triggers stay in step).
          counts.episodes += yield* ofCells("episodes", ids)
          counts.atomic_facts += yield* ofCells("atomic_facts", ids)
          counts.foresight += yield* ofCells("foresight", ids)
          counts.jobs += yield* jobs.forgetMemcells(request, ids)
          // Profiles built from these memcells go too (they are built again from what remains).
          yield* profiles.forgetMemcells(request, ids)
          yield* agents.forgetMemcells(request, ids)
          counts.messages += yield* ofCells("messages", ids)
          counts.memcells += yield* ofCells("memcells", ids)
        }

        // A user's profile goes with the user, whatever it was built from.
        if (request.user_id !== undefined) yield* profiles.forgetUser({ ...request, user_id: request.user_id })

        // Buffered messages belong to no memcell, so a memcell_ids request never reaches them.
        if (request.memcell_ids === undefined) {
          const bufferConditions: Array<Statement.Fragment> = [scope, sql`memcell_id IS NULL`]
          if (request.session_id !== undefined) bufferConditions.push(sql`session_id = ${request.session_id}`)
          if (request.user_id !== undefined) bufferConditions.push(sql`sender_id = ${request.user_id}`)
          counts.messages += yield* removed(sql`DELETE FROM messages WHERE ${sql.and(bufferConditions)}`)
        }
        return counts satisfies DeleteCounts
      })

    const delete_ = Effect.fn("Forget.delete")(function*(request: DeleteRequest) {
      yield* Effect.annotateCurrentSpan({ "engram.app": request.app_id, "engram.project": request.project_id })
      return yield* sql.withTransaction(remove(request)).pipe(withBusyRetry("delete memory"))
    })

    return { delete: delete_ } as const
  }),
  dependencies: [JobQueue.Default, ProfileRepo.Default, AgentRepo.Default]
}) {}
