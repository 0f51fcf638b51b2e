import { PgClient } from "@effect/sql-pg"
import { Duration, type Redacted } from "effect"
import Pg from "pg"

/** Postgres type oid of `int8` (bigint, bigserial, COUNT(*)). */
const INT8_OID = 20

/**
 * int8 as a JS number: our int8 values are epoch milliseconds, row counts and serial keys, all far
 * below 2^53, and the row schemas decode numbers (node-postgres returns int8 as a string by default).
 */
const types: Pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary"
      ? (value: string) => Number(value)
      : Pg.types.getTypeParser(oid, format ?? "text")) as Pg.CustomTypesConfig["getTypeParser"]
}

export interface PoolOptions {
  /** Connections the pool may open (ENGRAM_DATABASE_MAX_CONNECTIONS); LISTEN opens one more. */
  readonly maxConnections: number
}

export const DEFAULT_POOL: PoolOptions = { maxConnections: 10 }

/** A pooled client for `url`. Every wait is bounded: connecting, and a pooled connection left idle. */
export const clientLayer = (url: Redacted.Redacted, pool: PoolOptions = DEFAULT_POOL) =>
  PgClient.layer({
    url,
    types,
    applicationName: "engram",
    connectTimeout: Duration.seconds(10),
    idleTimeout: Duration.seconds(30),
    maxConnections: pool.maxConnections
  })
