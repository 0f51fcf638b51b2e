import { Schema } from "effect"

/**
 * The prompts that build a user's profile (see Prompts.ts for the conventions: a constant system
 * prompt, a version, the Schema of the answer). Material is numbered episodes `[N] date title:
 * text`; the model cites episode numbers as evidence and Engram maps them to message ids.
 */

export const PROFILE_PROMPT_VERSION = "profile/1"

const RULES = `Rules:
- Only facts about the target user; never about the assistant, other people's own lives, or the assistant's persona.
- Timeless wording: no dates, no "today", no "recently" ("Works as a nurse", not "Started as a nurse last week").
- Explicit info: what the user states about themselves (category, description). Implicit traits: a stable disposition inferred from at least two pieces of evidence (trait, description, basis).
- evidence: the numbers of the episodes the item rests on.
- Write in the language of the episodes.
- summary: at most 3 sentences about the user.
Answer with JSON only.`

export const PROFILE_CREATE_SYSTEM_PROMPT = `You build a long-term profile of one user from episodes of their conversations.
${RULES}
{"explicit_info": [{"category": str, "description": str, "evidence": [int]}], "implicit_traits": [{"trait": str, "description": str, "basis": str, "evidence": [int]}], "summary": str}`

export const PROFILE_UPDATE_SYSTEM_PROMPT = `You update a long-term profile of one user with new episodes of their conversations.
The current profile lists explicit items E0, E1, ... and traits T0, T1, ...
Return operations: add a new item, update an item by its index (new description; new evidence is added to the old), delete an item the episodes contradict. Leave unchanged items out.
${RULES}
{"operations": [{"action": "add" | "update" | "delete", "type": "explicit" | "implicit", "index": int (update/delete), "data": {"category"|"trait": str, "description": str, "basis": str (traits), "evidence": [int]} (add/update)}], "summary": str}`

export const PROFILE_COMPACT_SYSTEM_PROMPT = `You compact a long-term profile of one user that has grown too long.
Merge duplicates and near-duplicates, drop trivia, keep what best describes the user; at most the number of items asked for.
Each kept item lists the indices of the old items it comes from in "sources" (E indices for explicit items, T indices for traits).
Keep the profile's language and timeless wording. Answer with JSON only.
{"explicit_info": [{"category": str, "description": str, "sources": [int]}], "implicit_traits": [{"trait": str, "description": str, "basis": str, "sources": [int]}], "summary": str}`

const Numbers = Schema.Array(Schema.Int)

export const ProfileCreateAnswer = Schema.Struct({
  explicit_info: Schema.Array(Schema.Struct({ category: Schema.String, description: Schema.String, evidence: Numbers })),
  implicit_traits: Schema.Array(
    Schema.Struct({ trait: Schema.String, description: Schema.String, basis: Schema.String, evidence: Numbers })
  ),
  summary: Schema.String
})
export type ProfileCreateAnswer = typeof ProfileCreateAnswer.Type

export const ProfileOperation = Schema.Struct({
  action: Schema.Literal("add", "update", "delete", "none"),
  type: Schema.Literal("explicit", "implicit"),
  index: Schema.optional(Schema.Int),
  data: Schema.optional(Schema.Struct({
    category: Schema.optional(Schema.String),
    trait: Schema.optional(Schema.String),
    description: Schema.String,
    basis: Schema.optional(Schema.String),
    evidence: Schema.optionalWith(Numbers, { default: () => [] })
  }))
})
export type ProfileOperation = typeof ProfileOperation.Type

export const ProfileUpdateAnswer = Schema.Struct({
  operations: Schema.Array(ProfileOperation),
  summary: Schema.String
})
export type ProfileUpdateAnswer = typeof ProfileUpdateAnswer.Type

export const ProfileCompactAnswer = Schema.Struct({
  explicit_info: Schema.Array(Schema.Struct({ category: Schema.String, description: Schema.String, sources: Numbers })),
  implicit_traits: Schema.Array(
    Schema.Struct({ trait: Schema.String, description: Schema.String, basis: Schema.String, sources: Numbers })
  ),
  summary: Schema.String
})
export type ProfileCompactAnswer = typeof ProfileCompactAnswer.Type

/** One episode of the material: `[N] YYYY-MM-DD title: text` (text on one line). */
export interface ProfileEpisodeLine {
  readonly date: string
  readonly title: string
  readonly text: string
}

const episodesBlock = (episodes: ReadonlyArray<ProfileEpisodeLine>) =>
  episodes.map((e, i) => `[${i + 1}] ${e.date} ${e.title}: ${e.text.replace(/\s+/g, " ")}`).join("\n")

export const profileCreatePrompt = (user: string, episodes: ReadonlyArray<ProfileEpisodeLine>) =>
  `Target user: ${user}\nEpisodes:\n${episodesBlock(episodes)}`

export const profileUpdatePrompt = (
  user: string,
  current: { readonly summary: string; readonly explicit: ReadonlyArray<string>; readonly implicit: ReadonlyArray<string> },
  episodes: ReadonlyArray<ProfileEpisodeLine>
) =>
  [
    `Target user: ${user}`,
    `Current summary: ${current.summary}`,
    "Current explicit items:",
    ...current.explicit.map((line, i) => `E${i} ${line}`),
    "Current traits:",
    ...current.implicit.map((line, i) => `T${i} ${line}`),
    "New episodes:",
    episodesBlock(episodes)
  ].join("\n")

export const profileCompactPrompt = (
  user: string,
  maxItems: number,
  current: { readonly explicit: ReadonlyArray<string>; readonly implicit: ReadonlyArray<string> }
) =>
  [
    `Target user: ${user}. Keep at most ${maxItems} items in all.`,
    "Explicit items:",
    ...current.explicit.map((line, i) => `E${i} ${line}`),
    "Traits:",
    ...current.implicit.map((line, i) => `T${i} ${line}`)
  ].join("\n")
