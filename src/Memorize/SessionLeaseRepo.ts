import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { SessionKey } from "../Domain/Message.js"
import { withBusyRetry } from "../Storage/Database.js"

/**
 * The `session_leases` table (Postgres only, see SessionLease.ts): one row per session some node
 * holds. Times are the database's clock, so nodes whose clocks disagree still agree on expiry.
 * Each statement is one autocommit round trip: no transaction is ever held while a lease is.
 */
const NOW_MS = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint"

export class SessionLeaseRepo extends Effect.Service<SessionLeaseRepo>()("engram/SessionLeaseRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const now = sql.literal(NOW_MS)

    /**
     * Takes the session's lease for `ttlMs` if nobody holds it, it expired, or `owner` holds it
     * already: one atomic upsert, so of two nodes racing exactly one gets a row back.
     */
    const tryAcquire = Effect.fn("SessionLeaseRepo.tryAcquire")(function*(key: SessionKey, owner: string, ttlMs: number) {
      const rows = yield* sql<{ owner: string }>`
        INSERT INTO session_leases (app_id, project_id, session_id, owner, expires_at)
        VALUES (${key.app_id}, ${key.project_id}, ${key.session_id}, ${owner}, ${now} + ${ttlMs})
        ON CONFLICT (app_id, project_id, session_id) DO UPDATE
          SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
          WHERE session_leases.expires_at <= ${now} OR session_leases.owner = EXCLUDED.owner
        RETURNING owner`.pipe(withBusyRetry("acquire session lease"))
      return rows.length > 0
    })

    /** Pushes the expiry `ttlMs` past now; false when `owner` no longer holds the lease (it expired and another node took it). */
    const renew = Effect.fn("SessionLeaseRepo.renew")(function*(key: SessionKey, owner: string, ttlMs: number) {
      const rows = yield* sql<{ owner: string }>`
        UPDATE session_leases SET expires_at = ${now} + ${ttlMs}
        WHERE app_id = ${key.app_id} AND project_id = ${key.project_id} AND session_id = ${key.session_id}
          AND owner = ${owner}
        RETURNING owner`.pipe(withBusyRetry("renew session lease"))
      return rows.length > 0
    })

    /** Gives the lease up, if `owner` still holds it (a lease another node took over is left alone). */
    const release = Effect.fn("SessionLeaseRepo.release")(function*(key: SessionKey, owner: string) {
      yield* sql`
        DELETE FROM session_leases
        WHERE app_id = ${key.app_id} AND project_id = ${key.project_id} AND session_id = ${key.session_id}
          AND owner = ${owner}`.pipe(withBusyRetry("release session lease"))
    })

    return { tryAcquire, renew, release } as const
  })
}) {}
