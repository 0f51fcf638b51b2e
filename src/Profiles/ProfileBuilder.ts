import { Effect, Option } from "effect"
import type { ProfileItem } from "../Domain/TrackItems.js"
import { type MemcellInput, userSenders } from "../Extraction/Extractors.js"
import { makeKeyedSemaphore } from "../Memorize/KeyedSemaphore.js"
import { factsProfile } from "./FactsProfile.js"
import { type ProfileKey, ProfileRepo, type ProfileRow } from "./ProfileRepo.js"
import { ProfileModel } from "./ProfileModel.js"

/** Users whose profiles one memcell updates: with a model, one fold (at most two calls) each. */
export const MAX_PROFILE_USERS_PER_MEMCELL = 4

const itemOf = (key: ProfileKey, row: Pick<ProfileRow, "summary" | "explicit_info" | "implicit_traits" | "builder" | "updated_at">): ProfileItem => ({
  id: `profile_${key.user_id}`,
  user_id: key.user_id,
  app_id: key.app_id,
  project_id: key.project_id,
  type: "profile",
  profile_data: {
    summary: row.summary,
    explicit_info: row.explicit_info,
    implicit_traits: row.implicit_traits,
    profile_timestamp_ms: row.updated_at
  },
  builder: row.builder,
  updated_at: row.updated_at,
  score: null
})

/**
 * Keeps each user's profile: the `profile` job folds a memcell into the profiles of its user
 * senders, once per memcell (its fold record says so). With a model, a fold takes every episode of
 * the user not yet folded (a burst of memcells costs one fold; the jobs of the others then find
 * their memcell folded and do nothing); without one, the profile is assembled from the user's
 * facts and foresight. Jobs of one user run one at a time in a process; across processes the
 * versioned write makes the later one start over.
 */
export class ProfileBuilder extends Effect.Service<ProfileBuilder>()("engram/ProfileBuilder", {
  scoped: Effect.gen(function*() {
    const repo = yield* ProfileRepo
    const model = yield* Effect.serviceOption(ProfileModel)
    const locks = yield* makeKeyedSemaphore()

    const keysOf = (input: MemcellInput): ReadonlyArray<ProfileKey> =>
      userSenders(input).slice(0, MAX_PROFILE_USERS_PER_MEMCELL).map((user_id) => ({
        app_id: input.memcell.app_id,
        project_id: input.memcell.project_id,
        user_id
      }))

    const lockKey = (key: ProfileKey) => `${key.app_id}\u0000${key.project_id}\u0000${key.user_id}`

    /** Runs `effect` holding the profile lock of every user of the memcell (taken in one order: no deadlock). */
    const serialized = <A, E, R>(input: MemcellInput, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      keysOf(input).map(lockKey).sort().reduceRight<Effect.Effect<A, E, R>>((inner, key) => locks.withPermit(key, inner), effect)

    /** The fold of one user: the work now (reads, model), the write for the job's result transaction. */
    const prepareUser = (key: ProfileKey, memcellId: string) =>
      Effect.gen(function*() {
        if (yield* repo.isFolded(key, memcellId)) return (_now: number) => Effect.void
        const current = yield* repo.find(key)
        const expectedVersion = Option.match(current, { onNone: () => 0, onSome: (row) => row.version })
        if (Option.isNone(model)) {
          const { facts, foresight } = yield* repo.factsOf(key)
          const data = factsProfile(facts, foresight)
          return (now: number) => repo.write(key, { data, builder: "facts", expectedVersion, memcellIds: [memcellId] }, now)
        }
        const episodes = yield* repo.pendingEpisodes(key, memcellId)
        if (episodes.length === 0) return (now: number) => repo.markFolded(key, memcellId, now)
        // A profile assembled from facts (before a model was configured) is rebuilt by the model.
        const base = Option.filter(current, (row) => row.builder === "llm")
        const data = yield* model.value.fold(key.user_id, Option.getOrUndefined(base), episodes)
        const memcellIds = Array.from(new Set([memcellId, ...episodes.map((e) => e.memcell_id)]))
        return (now: number) => repo.write(key, { data, builder: "llm", expectedVersion, memcellIds }, now)
      })

    /** The `profile` job's work: returns the write to run (with the job's `markDone`) in one transaction. */
    const prepareJob = Effect.fn("ProfileBuilder.prepareJob")(function*(input: MemcellInput) {
      const writes = yield* Effect.forEach(keysOf(input), (key) => prepareUser(key, input.memcell.memcell_id))
      return (now: number) => Effect.forEach(writes, (write) => write(now), { discard: true })
    })

    /**
     * The user's profile as served: the stored one, else (nothing folded yet, or profiles built
     * after the facts) one assembled from their facts on the spot, so a user with facts never has
     * an empty profile. None when there is nothing to say.
     */
    const current = Effect.fn("ProfileBuilder.current")(function*(key: ProfileKey) {
      const stored = yield* repo.find(key)
      if (Option.isSome(stored)) return Option.some(itemOf(key, stored.value))
      const { facts, foresight } = yield* repo.factsOf(key)
      if (facts.length === 0 && foresight.length === 0) return Option.none<ProfileItem>()
      const data = factsProfile(facts, foresight)
      const updated_at = Math.max(...facts.map((f) => f.created_at), ...foresight.map((f) => f.created_at))
      return Option.some(itemOf(key, { ...data, builder: "facts", updated_at }))
    })

    return { serialized, prepareJob, current } as const
  }),
  dependencies: [ProfileRepo.Default]
}) {}
