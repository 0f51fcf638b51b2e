import { Migrator, SqlClient } from "@effect/sql"
import { Effect } from "effect"
import ledger from "./migrations/0001_ledger.js"
import extraction from "./migrations/0002_extraction.js"
import search from "./migrations/0003_search.js"
import passages from "./migrations/0004_passages.js"
import boundarySeen from "./migrations/0005_boundary_seen.js"
import messagesBySender from "./migrations/0006_messages_by_sender.js"
import profiles from "./migrations/0007_profiles.js"
import agentTrack from "./migrations/0008_agent_track.js"
import sessionLeases from "./migrations/0009_session_leases.js"
import passageVectors from "./migrations/0010_passage_vectors.js"
import memcellsInSessionOrder from "./migrations/0011_memcells_in_session_order.js"
import pgLedger from "./migrations/pg/0001_ledger.js"
import pgExtraction from "./migrations/pg/0002_extraction.js"
import pgSearch from "./migrations/pg/0003_search.js"
import pgPassages from "./migrations/pg/0004_passages.js"
import pgBoundarySeen from "./migrations/pg/0005_boundary_seen.js"
import pgMessagesBySender from "./migrations/pg/0006_messages_by_sender.js"
import pgProfiles from "./migrations/pg/0007_profiles.js"
import pgAgentTrack from "./migrations/pg/0008_agent_track.js"
import pgSessionLeases from "./migrations/pg/0009_session_leases.js"
import pgPassageVectors from "./migrations/pg/0010_passage_vectors.js"
import pgMemcellsInSessionOrder from "./migrations/pg/0011_memcells_in_session_order.js"

/** Every schema change, in order. Add new ones at the end; never edit an applied one. */
export const migrations = Migrator.fromRecord({
  "0001_ledger": ledger,
  "0002_extraction": extraction,
  "0003_search": search,
  "0004_passages": passages,
  "0005_boundary_seen": boundarySeen,
  "0006_messages_by_sender": messagesBySender,
  "0007_profiles": profiles,
  "0008_agent_track": agentTrack,
  "0009_session_leases": sessionLeases,
  "0010_passage_vectors": passageVectors,
  "0011_memcells_in_session_order": memcellsInSessionOrder
})

/**
 * The same changes for Postgres, under the same names: a migration added above gets its twin in
 * migrations/pg/ (same file name) and a line here.
 */
export const pgMigrations = Migrator.fromRecord({
  "0001_ledger": pgLedger,
  "0002_extraction": pgExtraction,
  "0003_search": pgSearch,
  "0004_passages": pgPassages,
  "0005_boundary_seen": pgBoundarySeen,
  "0006_messages_by_sender": pgMessagesBySender,
  "0007_profiles": pgProfiles,
  "0008_agent_track": pgAgentTrack,
  "0009_session_leases": pgSessionLeases,
  "0010_passage_vectors": pgPassageVectors,
  "0011_memcells_in_session_order": pgMemcellsInSessionOrder
})

/**
 * Runs pending migrations of the client's engine; no schema dump (that would shell out to the
 * sqlite3 or pg_dump binary). On Postgres the migrator locks its table, so nodes starting
 * together apply each migration once.
 */
export const runMigrations = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Migrator.make({})({
    loader: sql.onDialectOrElse({ pg: () => pgMigrations, orElse: () => migrations }),
    table: "engram_migrations"
  })).pipe(Effect.withSpan("Database.migrate"))
