import type { SqlClient, Statement } from "@effect/sql"

/**
 * The few SQL fragments that differ between SQLite and Postgres, so each repo keeps one
 * implementation. Everything passed here is ours (index and column names), never user input.
 */

/** SQLite's `INDEXED BY` plan hint; nothing on Postgres (its planner needs none). */
export const indexedBy = (sql: SqlClient.SqlClient, index: string): Statement.Fragment =>
  sql.onDialectOrElse({ sqlite: () => sql.literal(`INDEXED BY ${index}`), orElse: () => sql.literal("") })

/** A column SQLite must not pick an index for (unary `+`); the plain column on Postgres. */
export const unindexed = (sql: SqlClient.SqlClient, column: string): Statement.Fragment =>
  sql.onDialectOrElse({ sqlite: () => sql.literal(`+${column}`), orElse: () => sql.literal(column) })

/**
 * For a claim's subquery: Postgres locks the chosen rows and skips rows a concurrent claim holds
 * (no two nodes claim one job, none waits for another); SQLite serializes writers anyway.
 */
export const forUpdateSkipLocked = (sql: SqlClient.SqlClient): Statement.Fragment =>
  sql.onDialectOrElse({ pg: () => sql.literal("FOR UPDATE SKIP LOCKED"), orElse: () => sql.literal("") })

/**
 * Locks the selected rows until the transaction ends on Postgres (concurrent lockers wait); nothing
 * on SQLite, whose write transactions already run one at a time.
 */
export const forUpdate = (sql: SqlClient.SqlClient): Statement.Fragment =>
  sql.onDialectOrElse({ pg: () => sql.literal("FOR UPDATE"), orElse: () => sql.literal("") })

/** The larger of two integer expressions. */
export const greatest = (sql: SqlClient.SqlClient, a: string, b: string): Statement.Fragment =>
  sql.onDialectOrElse({ pg: () => sql.literal(`GREATEST(${a}, ${b})`), orElse: () => sql.literal(`MAX(${a}, ${b})`) })

/** The elements of a JSON array stored as text, as rows of `alias` with a text column `value`. */
export const jsonArrayElements = (sql: SqlClient.SqlClient, column: string, alias: string): Statement.Fragment =>
  sql.onDialectOrElse({
    pg: () => sql.literal(`json_array_elements_text(${column}::json) AS ${alias}(value)`),
    orElse: () => sql.literal(`json_each(${column}) AS ${alias}`)
  })

/**
 * An inner join whose tables SQLite must read in the written order (its `CROSS JOIN` plan hint);
 * a plain `JOIN` on Postgres, which has no such hint and no `CROSS JOIN ... ON`.
 */
export const orderedJoin = (sql: SqlClient.SqlClient): Statement.Fragment =>
  sql.onDialectOrElse({ sqlite: () => sql.literal("CROSS JOIN"), orElse: () => sql.literal("JOIN") })
