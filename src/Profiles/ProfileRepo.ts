import { SqlClient } from "@effect/sql"
import { Data, Effect, Option, Schema } from "effect"
import { ExplicitInfoList, ImplicitTraitList, type ProfileData } from "../Domain/TrackItems.js"
import { EPISODE_COLUMNS, EpisodeRow, FACT_COLUMNS, FactRow, FORESIGHT_COLUMNS, ForesightRow } from "../Extraction/DerivedRows.js"
import { withBusyRetry } from "../Storage/Database.js"

/** Whose profile: a user within a tenant scope. */
export interface ProfileKey {
  readonly app_id: string
  readonly project_id: string
  readonly user_id: string
}

/** A `profiles` row. */
export const ProfileRow = Schema.Struct({
  app_id: Schema.String,
  project_id: Schema.String,
  user_id: Schema.String,
  summary: Schema.String,
  explicit_info: Schema.parseJson(ExplicitInfoList),
  implicit_traits: Schema.parseJson(ImplicitTraitList),
  version: Schema.Number,
  builder: Schema.Literal("llm", "facts"),
  updated_at: Schema.Number
})
export type ProfileRow = typeof ProfileRow.Type

/** Another writer changed the profile between our read and our write: the job runs again on the new one. */
export class ProfileChanged extends Data.TaggedError("ProfileChanged")<{ readonly user_id: string }> {
  override get message() {
    return `the profile of ${this.user_id} changed while it was being updated; retrying on the new version`
  }
}

/** What a write replaces the profile with, and the memcells it folds in. */
export interface ProfileWrite {
  readonly data: Omit<ProfileData, "profile_timestamp_ms">
  readonly builder: "llm" | "facts"
  /** The version read before the work began (0: there was none). */
  readonly expectedVersion: number
  readonly memcellIds: ReadonlyArray<string>
}

/** Bounds of what one profile update reads: its cost stays flat however much a user has said. */
export const MAX_PENDING_EPISODES = 12
export const MAX_PROFILE_FACTS = 200
export const MAX_PROFILE_FORESIGHT = 50

const decodeAll = <A, I>(schema: Schema.Schema<A, I>) => (rows: ReadonlyArray<unknown>) =>
  Effect.orDie(Schema.decodeUnknown(Schema.Array(schema))(rows))

/**
 * Owner of `profiles` and `profile_memcells`. Reads the user's episodes, facts and foresight (owned
 * by the extraction stage) as the material of a profile.
 */
export class ProfileRepo extends Effect.Service<ProfileRepo>()("engram/ProfileRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const ofUser = (key: ProfileKey) =>
      sql`app_id = ${key.app_id} AND project_id = ${key.project_id} AND user_id = ${key.user_id}`

    const find = Effect.fn("ProfileRepo.find")(function*(key: ProfileKey) {
      const rows = yield* sql`SELECT * FROM profiles WHERE ${ofUser(key)}`.pipe(
        withBusyRetry("read profile"),
        Effect.flatMap(decodeAll(ProfileRow))
      )
      return Option.fromNullable(rows[0])
    })

    const isFolded = Effect.fn("ProfileRepo.isFolded")(function*(key: ProfileKey, memcellId: string) {
      const rows = yield* sql`SELECT 1 AS one FROM profile_memcells WHERE ${ofUser(key)} AND memcell_id = ${memcellId}`.pipe(
        withBusyRetry("read folded memcells")
      )
      return rows.length > 0
    })

    /**
     * The user's episodes not yet folded into their profile (a burst is folded at once), those of
     * `memcellId` always among them, the rest oldest first; returned in time order.
     */
    const pendingEpisodes = Effect.fn("ProfileRepo.pendingEpisodes")(function*(key: ProfileKey, memcellId: string) {
      const rows = yield* sql`
        SELECT ${sql.literal(EPISODE_COLUMNS)} FROM episodes e
        WHERE ${ofUser(key)} AND NOT EXISTS (
          SELECT 1 FROM profile_memcells p
          WHERE p.app_id = e.app_id AND p.project_id = e.project_id AND p.user_id = e.user_id AND p.memcell_id = e.memcell_id)
        ORDER BY CASE WHEN memcell_id = ${memcellId} THEN 0 ELSE 1 END, timestamp, episode_id LIMIT ${MAX_PENDING_EPISODES}`.pipe(
        withBusyRetry("read pending episodes"),
        Effect.flatMap(decodeAll(EpisodeRow))
      )
      return [...rows].sort((a, b) => a.timestamp - b.timestamp || a.episode_id.localeCompare(b.episode_id))
    })

    /** The user's newest facts and foresight: the offline profile's material. */
    const factsOf = Effect.fn("ProfileRepo.factsOf")(function*(key: ProfileKey) {
      const facts = yield* sql`
        SELECT ${sql.literal(FACT_COLUMNS)} FROM atomic_facts WHERE ${ofUser(key)}
        ORDER BY timestamp DESC, fact_id LIMIT ${MAX_PROFILE_FACTS}`.pipe(
        withBusyRetry("read profile facts"),
        Effect.flatMap(decodeAll(FactRow))
      )
      const foresight = yield* sql`
        SELECT ${sql.literal(FORESIGHT_COLUMNS)} FROM foresight WHERE ${ofUser(key)}
        ORDER BY timestamp DESC, foresight_id LIMIT ${MAX_PROFILE_FORESIGHT}`.pipe(
        withBusyRetry("read profile foresight"),
        Effect.flatMap(decodeAll(ForesightRow))
      )
      return { facts, foresight }
    })

    /**
     * Inside the profile job's result transaction: replaces the profile if it is still at
     * `expectedVersion` (else ProfileChanged, rolling the transaction back) and records the
     * memcells it folded in.
     */
    const write = (key: ProfileKey, change: ProfileWrite, now: number) =>
      Effect.gen(function*() {
        const current = yield* sql<{ version: number }>`SELECT version FROM profiles WHERE ${ofUser(key)}`
        if ((current[0]?.version ?? 0) !== change.expectedVersion) return yield* new ProfileChanged({ user_id: key.user_id })
        yield* sql`
          INSERT INTO profiles ${
          sql.insert({
            app_id: key.app_id,
            project_id: key.project_id,
            user_id: key.user_id,
            summary: change.data.summary,
            explicit_info: JSON.stringify(change.data.explicit_info),
            implicit_traits: JSON.stringify(change.data.implicit_traits),
            version: change.expectedVersion + 1,
            builder: change.builder,
            updated_at: now
          })
        }
          ON CONFLICT (app_id, project_id, user_id) DO UPDATE SET summary = excluded.summary,
            explicit_info = excluded.explicit_info, implicit_traits = excluded.implicit_traits,
            version = excluded.version, builder = excluded.builder, updated_at = excluded.updated_at`
        if (change.memcellIds.length > 0) {
          yield* sql`
            INSERT INTO profile_memcells ${
            sql.insert(change.memcellIds.map((memcell_id) => ({ ...key, memcell_id, folded_at: now })))
          } ON CONFLICT DO NOTHING`
        }
      })

    /** Inside a memcell's result transaction when there was nothing to change: the memcell still counts as folded. */
    const markFolded = (key: ProfileKey, memcellId: string, now: number) =>
      sql`INSERT INTO profile_memcells ${sql.insert({ ...key, memcell_id: memcellId, folded_at: now })} ON CONFLICT DO NOTHING`.pipe(
        Effect.asVoid
      )

    /**
     * Inside a delete's transaction: profiles built from any of these memcells go (derived memory
     * never outlives its source; the next memcell, or the offline view, builds them again), with
     * their fold records. Returns how many profiles it removed.
     */
    const forgetMemcells = (scope: { readonly app_id: string; readonly project_id: string }, memcellIds: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const users = yield* sql<{ user_id: string }>`
          SELECT DISTINCT user_id FROM profile_memcells
          WHERE app_id = ${scope.app_id} AND project_id = ${scope.project_id} AND ${sql.in("memcell_id", memcellIds)}`
        let removed = 0
        for (const { user_id } of users) removed += yield* forgetUser({ ...scope, user_id })
        return removed
      })

    /** Inside a delete's transaction: the user's profile and its fold records. Returns 1 if a profile went. */
    const forgetUser = (key: ProfileKey) =>
      Effect.gen(function*() {
        yield* sql`DELETE FROM profile_memcells WHERE ${ofUser(key)}`
        const rows = yield* sql`DELETE FROM profiles WHERE ${ofUser(key)} RETURNING user_id`
        return rows.length
      })

    return { find, isFolded, pendingEpisodes, factsOf, write, markFolded, forgetMemcells, forgetUser } as const
  })
}) {}
