import { Context, Effect, Layer } from "effect"
import type { LlmError } from "../Domain/Errors.js"
import type { ExplicitInfo, ImplicitTrait, ProfileData } from "../Domain/TrackItems.js"
import type { EpisodeRow } from "../Extraction/DerivedRows.js"
import { askUntilDecoded, chatRequest } from "../Extraction/LlmExtractors.js"
import { decodeJsonAnswer } from "../Llm/JsonAnswer.js"
import { LlmClient } from "../Llm/LlmClient.js"
import {
  PROFILE_COMPACT_SYSTEM_PROMPT,
  PROFILE_CREATE_SYSTEM_PROMPT,
  PROFILE_PROMPT_VERSION,
  PROFILE_UPDATE_SYSTEM_PROMPT,
  ProfileCompactAnswer,
  profileCompactPrompt,
  ProfileCreateAnswer,
  profileCreatePrompt,
  type ProfileEpisodeLine,
  type ProfileOperation,
  ProfileUpdateAnswer,
  profileUpdatePrompt
} from "../Llm/ProfilePrompts.js"

export type ProfileContent = Omit<ProfileData, "profile_timestamp_ms">

/**
 * Folds a user's new episodes into their profile with a model: created from the episodes when
 * there is none, else updated by add/update/delete operations by index, then compacted when it
 * grew past `COMPACT_ABOVE` items. At most two calls per fold (each retried while malformed).
 * Absent (no model): profiles are assembled from facts instead.
 */
export class ProfileModel extends Context.Tag("engram/ProfileModel")<
  ProfileModel,
  {
    readonly fold: (
      user: string,
      current: ProfileContent | undefined,
      episodes: ReadonlyArray<EpisodeRow>
    ) => Effect.Effect<ProfileContent, LlmError>
  }
>() {}

/** EverOS's bounds: past 45 items the profile is compacted to at most 30. */
export const COMPACT_ABOVE = 45
export const COMPACT_TO = 30
/** Evidence kept per item: the newest message ids. */
const MAX_EVIDENCE = 24
const EPISODE_TEXT_CHARS = 2_000

const decodeCreate = decodeJsonAnswer(ProfileCreateAnswer)
const decodeUpdate = decodeJsonAnswer(ProfileUpdateAnswer)
const decodeCompact = decodeJsonAnswer(ProfileCompactAnswer)

const lineOf = (episode: EpisodeRow): ProfileEpisodeLine => ({
  date: new Date(episode.timestamp).toISOString().slice(0, 10),
  title: episode.title,
  text: episode.content.length > EPISODE_TEXT_CHARS ? `${episode.content.slice(0, EPISODE_TEXT_CHARS)}…` : episode.content
})

const mergeEvidence = (...lists: ReadonlyArray<ReadonlyArray<string>>) => {
  const ids = Array.from(new Set(lists.flat()))
  return ids.slice(Math.max(0, ids.length - MAX_EVIDENCE))
}

/** Message ids of the cited episodes (1-based numbers; unknown ones dropped). */
const evidenceOf = (numbers: ReadonlyArray<number>, episodes: ReadonlyArray<EpisodeRow>) =>
  mergeEvidence(...numbers.flatMap((n) => (n >= 1 && n <= episodes.length ? [episodes[n - 1]!.message_ids] : [])))

const explicitLine = (item: ExplicitInfo) => `[${item.category}] ${item.description}`
const traitLine = (item: ImplicitTrait) => `${item.trait}: ${item.description} (basis: ${item.basis})`

/** Applies operations by index to the profile the model saw; indices refer to that profile, so deletes apply last. */
export const applyOperations = (
  current: ProfileContent,
  operations: ReadonlyArray<ProfileOperation>,
  episodes: ReadonlyArray<EpisodeRow>
): { readonly explicit_info: ReadonlyArray<ExplicitInfo>; readonly implicit_traits: ReadonlyArray<ImplicitTrait> } => {
  const explicit: Array<ExplicitInfo | undefined> = [...current.explicit_info]
  const implicit: Array<ImplicitTrait | undefined> = [...current.implicit_traits]
  const added = { explicit: [] as Array<ExplicitInfo>, implicit: [] as Array<ImplicitTrait> }
  const deleted = { explicit: new Set<number>(), implicit: new Set<number>() }
  for (const op of operations) {
    const data = op.data
    const index = op.index
    if (op.action === "delete" && index !== undefined) deleted[op.type].add(index)
    if (data === undefined || (op.action !== "add" && op.action !== "update")) continue
    const evidence = evidenceOf(data.evidence, episodes)
    if (op.type === "explicit") {
      const old = op.action === "update" && index !== undefined ? explicit[index] : undefined
      const item = { category: data.category ?? old?.category ?? "other", description: data.description, evidence: mergeEvidence(old?.evidence ?? [], evidence) }
      if (old !== undefined && index !== undefined) explicit[index] = item
      else added.explicit.push(item)
    } else {
      const old = op.action === "update" && index !== undefined ? implicit[index] : undefined
      const item = {
        trait: data.trait ?? old?.trait ?? data.description,
        description: data.description,
        basis: data.basis ?? old?.basis ?? "",
        evidence: mergeEvidence(old?.evidence ?? [], evidence)
      }
      if (old !== undefined && index !== undefined) implicit[index] = item
      else added.implicit.push(item)
    }
  }
  return {
    explicit_info: [...explicit.filter((item, i): item is ExplicitInfo => item !== undefined && !deleted.explicit.has(i)), ...added.explicit],
    implicit_traits: [...implicit.filter((item, i): item is ImplicitTrait => item !== undefined && !deleted.implicit.has(i)), ...added.implicit]
  }
}

export const LlmProfileModel = Layer.effect(
  ProfileModel,
  Effect.gen(function*() {
    const llm = yield* LlmClient

    const compact = (user: string, profile: ProfileContent) =>
      Effect.gen(function*() {
        const answer = yield* askUntilDecoded(
          llm,
          chatRequest(
            "profile_compact",
            PROFILE_COMPACT_SYSTEM_PROMPT,
            profileCompactPrompt(user, COMPACT_TO, {
              explicit: profile.explicit_info.map(explicitLine),
              implicit: profile.implicit_traits.map(traitLine)
            })
          ),
          PROFILE_PROMPT_VERSION,
          decodeCompact
        )
        const sourcesOf = <T extends { readonly evidence: ReadonlyArray<string> }>(items: ReadonlyArray<T>, sources: ReadonlyArray<number>) =>
          mergeEvidence(...sources.flatMap((i) => (items[i] === undefined ? [] : [items[i]!.evidence])))
        // The model may overshoot the bound: the first COMPACT_TO items are kept, explicit ones first.
        const explicit_info = answer.explicit_info.slice(0, COMPACT_TO).map((item) => ({
          category: item.category,
          description: item.description,
          evidence: sourcesOf(profile.explicit_info, item.sources)
        }))
        const implicit_traits = answer.implicit_traits.slice(0, Math.max(0, COMPACT_TO - explicit_info.length)).map((item) => ({
          trait: item.trait,
          description: item.description,
          basis: item.basis,
          evidence: sourcesOf(profile.implicit_traits, item.sources)
        }))
        return { summary: answer.summary, explicit_info, implicit_traits } satisfies ProfileContent
      })

    const fold = Effect.fn("ProfileModel.fold")(function*(
      user: string,
      current: ProfileContent | undefined,
      episodes: ReadonlyArray<EpisodeRow>
    ) {
      yield* Effect.annotateCurrentSpan({ "engram.episodes": episodes.length, "engram.prompt_version": PROFILE_PROMPT_VERSION })
      const lines = episodes.map(lineOf)
      let profile: ProfileContent
      if (current === undefined) {
        const answer = yield* askUntilDecoded(
          llm,
          chatRequest("profile", PROFILE_CREATE_SYSTEM_PROMPT, profileCreatePrompt(user, lines)),
          PROFILE_PROMPT_VERSION,
          decodeCreate
        )
        profile = {
          summary: answer.summary,
          explicit_info: answer.explicit_info.map((item) => ({ category: item.category, description: item.description, evidence: evidenceOf(item.evidence, episodes) })),
          implicit_traits: answer.implicit_traits.map((item) => ({ trait: item.trait, description: item.description, basis: item.basis, evidence: evidenceOf(item.evidence, episodes) }))
        }
      } else {
        const answer = yield* askUntilDecoded(
          llm,
          chatRequest(
            "profile",
            PROFILE_UPDATE_SYSTEM_PROMPT,
            profileUpdatePrompt(user, {
              summary: current.summary,
              explicit: current.explicit_info.map(explicitLine),
              implicit: current.implicit_traits.map(traitLine)
            }, lines)
          ),
          PROFILE_PROMPT_VERSION,
          decodeUpdate
        )
        profile = { summary: answer.summary, ...applyOperations(current, answer.operations, episodes) }
      }
      const size = profile.explicit_info.length + profile.implicit_traits.length
      return size > COMPACT_ABOVE ? yield* compact(user, profile) : profile
    })

    return { fold }
  })
)
