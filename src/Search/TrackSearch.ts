import { Effect, Option } from "effect"
import type { SearchRequest } from "../Domain/SearchRequest.js"
import type { ProfileItem } from "../Domain/TrackItems.js"
import { ProfileBuilder } from "../Profiles/ProfileBuilder.js"

/**
 * The tracks' part of a search answer: the user's profile when `include_profile` asks for it
 * (at most one, unscored, as in EverOS).
 */
export class TrackSearch extends Effect.Service<TrackSearch>()("engram/TrackSearch", {
  effect: Effect.gen(function*() {
    const profiles = yield* ProfileBuilder

    const results = Effect.fn("TrackSearch.results")(function*(request: SearchRequest) {
      const profile = request.include_profile === true && request.user_id !== undefined
        ? yield* profiles.current({ app_id: request.app_id, project_id: request.project_id, user_id: request.user_id })
        : Option.none<ProfileItem>()
      return { profiles: Option.toArray(profile) }
    })

    return { results } as const
  })
}) {}
