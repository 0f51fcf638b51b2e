import { Migrator } from "@effect/sql"
import { Effect } from "effect"
import ledger from "./migrations/0001_ledger.js"
import extraction from "./migrations/0002_extraction.js"
import search from "./migrations/0003_search.js"
import passages from "./migrations/0004_passages.js"
import boundarySeen from "./migrations/0005_boundary_seen.js"
import messagesBySender from "./migrations/0006_messages_by_sender.js"
import profiles from "./migrations/0007_profiles.js"
import agentTrack from "./migrations/0008_agent_track.js"

/** Every schema change, in order. Add new ones at the end; never edit an applied one. */
export const migrations = Migrator.fromRecord({
  "0001_ledger": ledger,
  "0002_extraction": extraction,
  "0003_search": search,
  "0004_passages": passages,
  "0005_boundary_seen": boundarySeen,
  "0006_messages_by_sender": messagesBySender,
  "0007_profiles": profiles,
  "0008_agent_track": agentTrack
})

/** Runs pending migrations; no schema dump (that would shell out to the sqlite3 binary). */
export const runMigrations = Migrator.make({})({ loader: migrations, table: "engram_migrations" }).pipe(
  Effect.withSpan("Database.migrate")
)
