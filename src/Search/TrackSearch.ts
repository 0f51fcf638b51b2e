import { Effect, Option } from "effect"
import { caseItem, caseText, skillItem, skillText } from "../AgentTrack/AgentItems.js"
import { AgentRepo, MAX_SEARCHED_CASES, MAX_SKILLS_COMPARED } from "../AgentTrack/AgentRepo.js"
import type { SearchRequest } from "../Domain/SearchRequest.js"
import type { AgentCaseItem, AgentSkillItem, ProfileItem } from "../Domain/TrackItems.js"
import { ProfileBuilder } from "../Profiles/ProfileBuilder.js"
import { Lexicon } from "../Text/Lexicon.js"

/** EverOS caps an agent's results at 10. */
export const AGENT_TOP_K_CAP = 10

/**
 * The tracks' part of a search answer: the user's profile when `include_profile` asks for it (at
 * most one, unscored, as in EverOS); for an `agent_id` owner, its cases and skills that share terms
 * with the query, scored by shared distinct terms over the square root of the item's terms (a
 * skill also takes the best score of its source cases). The agent's newest cases and skills are
 * scored (bounded), so the cost stays flat however long the agent has worked.
 */
export class TrackSearch extends Effect.Service<TrackSearch>()("engram/TrackSearch", {
  effect: Effect.gen(function*() {
    const profiles = yield* ProfileBuilder
    const agents = yield* AgentRepo
    const lexicon = yield* Lexicon

    const scorer = (query: string) => {
      const queryTerms = new Set(lexicon.terms(query))
      return (text: string) => {
        const terms = new Set(lexicon.terms(text))
        let shared = 0
        for (const term of terms) if (queryTerms.has(term)) shared++
        return shared === 0 ? 0 : shared / Math.sqrt(terms.size)
      }
    }

    const agentResults = (request: SearchRequest, agent_id: string) =>
      Effect.gen(function*() {
        const key = { app_id: request.app_id, project_id: request.project_id, agent_id }
        const limit = request.top_k === -1 ? AGENT_TOP_K_CAP : Math.min(request.top_k, AGENT_TOP_K_CAP)
        const score = scorer(request.query)
        const minScore = request.min_score ?? 0
        const cases = (yield* agents.recentCases(key, MAX_SEARCHED_CASES)).map((row) => ({ row, score: score(caseText(row)) }))
        const caseScores = new Map(cases.map((c) => [c.row.case_id, c.score]))
        const agent_cases: ReadonlyArray<AgentCaseItem> = cases
          .filter((c) => c.score > 0 && c.score >= minScore)
          .sort((a, b) => b.score - a.score || b.row.timestamp - a.row.timestamp)
          .slice(0, limit)
          .map((c) => caseItem(c.row, c.score))
        const skillRows = yield* agents.activeSkills(key, MAX_SKILLS_COMPARED)
        const sources = yield* agents.sourcesOf(skillRows.map((s) => s.skill_id))
        const agent_skills: ReadonlyArray<AgentSkillItem> = skillRows
          .map((row) => {
            const ids = sources.get(row.skill_id) ?? []
            const bridged = Math.max(0, ...ids.map((id) => caseScores.get(id) ?? 0))
            return { row, ids, score: Math.max(score(skillText(row)), bridged) }
          })
          .filter((s) => s.score > 0 && s.score >= minScore)
          .sort((a, b) => b.score - a.score || b.row.confidence - a.row.confidence)
          .slice(0, limit)
          .map((s) => skillItem(s.row, s.ids, s.score))
        return { agent_cases, agent_skills }
      })

    const results = Effect.fn("TrackSearch.results")(function*(request: SearchRequest) {
      const profile = request.include_profile === true && request.user_id !== undefined
        ? yield* profiles.current({ app_id: request.app_id, project_id: request.project_id, user_id: request.user_id })
        : Option.none<ProfileItem>()
      const agent = request.agent_id === undefined
        ? { agent_cases: [] as ReadonlyArray<AgentCaseItem>, agent_skills: [] as ReadonlyArray<AgentSkillItem> }
        : yield* agentResults(request, request.agent_id)
      return { profiles: Option.toArray(profile), ...agent }
    })

    return { results } as const
  }),
  dependencies: [AgentRepo.Default]
}) {}
