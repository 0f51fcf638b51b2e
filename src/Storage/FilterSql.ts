import type { SqlClient, Statement } from "@effect/sql"
import type { Comparison, FilterField, FilterTree } from "../Domain/Filters.js"
import { jsonArrayElements } from "./Dialect.js"

/** How a filter field maps onto a table: a plain column, or a JSON array column (any element matches). */
export type FieldColumn = { readonly column: string } | { readonly jsonArray: string }

const SQL_OPERATORS = { eq: "=", ne: "<>", gt: ">", gte: ">=", lt: "<", lte: "<=" } as const

const compare = (sql: SqlClient.SqlClient, target: string, c: Comparison): Statement.Fragment => {
  if (c.op === "in") {
    return sql`${sql.literal(target)} IN ${sql.in(c.value as ReadonlyArray<string | number>)}`
  }
  return sql`${sql.literal(target)} ${sql.literal(SQL_OPERATORS[c.op])} ${c.value as string | number}`
}

/**
 * Compiles a filter tree to a SQL condition for a table whose fields map as `columns` (column
 * names are ours, never user input; values are always bound parameters).
 */
export const compileFilterTree = (
  sql: SqlClient.SqlClient,
  tree: FilterTree,
  columns: Readonly<Record<FilterField, FieldColumn>>
): Statement.Fragment => {
  switch (tree._tag) {
    case "Compare": {
      const column = columns[tree.comparison.field]
      if ("column" in column) return compare(sql, column.column, tree.comparison)
      // "ne" over an array means no element equals the value.
      if (tree.comparison.op === "ne") {
        return sql`NOT EXISTS (SELECT 1 FROM ${jsonArrayElements(sql, column.jsonArray, "j")} WHERE value = ${tree.comparison.value as string})`
      }
      return sql`EXISTS (SELECT 1 FROM ${jsonArrayElements(sql, column.jsonArray, "j")} WHERE ${compare(sql, "value", tree.comparison)})`
    }
    case "And":
      return tree.children.length === 0 ? sql.literal("1 = 1") : sql.and(tree.children.map((c) => compileFilterTree(sql, c, columns)))
    case "Or":
      return tree.children.length === 0 ? sql.literal("1 = 0") : sql.or(tree.children.map((c) => compileFilterTree(sql, c, columns)))
  }
}
