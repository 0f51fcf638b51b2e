import { Effect, Option } from "effect"
import { CapabilityUnavailable } from "../Domain/Errors.js"
import { toFilterTree } from "../Domain/Filters.js"
import { type GetRequest, type MemoryType, sortColumnOf } from "../Domain/GetRequest.js"
import type { AtomicFactItem, EpisodeItem, ForesightItem, GetResult } from "../Domain/MemoryItems.js"
import type { SessionsRequest, SessionsResult } from "../Domain/SessionsRequest.js"
import { ReadRepo, type ReadQuery } from "./ReadRepo.js"
import { episodeView } from "../Extraction/DerivedRows.js"
import { caseItem, skillItem } from "../AgentTrack/AgentItems.js"
import { AgentRepo } from "../AgentTrack/AgentRepo.js"
import { ProfileBuilder } from "../Profiles/ProfileBuilder.js"

/** The agent track's types: read with `agent_id`; asked for a user, an honest 503 naming the right key. */
const AGENT_TYPES: Partial<Record<MemoryType, string>> = {
  agent_case: "agent cases",
  agent_skill: "agent skills"
}

const emptyResult = (request: GetRequest) => ({
  episodes: [] as ReadonlyArray<EpisodeItem>,
  atomic_facts: [] as ReadonlyArray<AtomicFactItem>,
  foresight: [] as ReadonlyArray<ForesightItem>,
  profiles: [],
  agent_cases: [],
  agent_skills: [],
  page: request.page,
  page_size: request.page_size
})

/**
 * Reads a user's memory a page at a time: episodes (with their atomic facts nested), atomic facts,
 * or foresight, always within the request's (app, project, user).
 */
export class MemoryReader extends Effect.Service<MemoryReader>()("engram/MemoryReader", {
  effect: Effect.gen(function*() {
    const reads = yield* ReadRepo
    const profiles = yield* ProfileBuilder
    const agents = yield* AgentRepo

    /** A page of an agent's cases (newest first by default) or live skills (by last update). */
    const agentPage = (request: GetRequest, agent_id: string) =>
      Effect.gen(function*() {
        if (request.filters !== undefined) {
          return yield* new CapabilityUnavailable({
            capability: "filters on agent memory",
            hint: "list an agent's cases and skills without filters"
          })
        }
        const key = { app_id: request.app_id, project_id: request.project_id, agent_id }
        const page = { order: request.sort_order, limit: request.page_size, offset: (request.page - 1) * request.page_size }
        const base = emptyResult(request)
        if (request.memory_type === "agent_case") {
          const { rows, total } = yield* agents.pageOfCases(key, { ...page, sortBy: sortColumnOf(request.sort_by) })
          const agent_cases = rows.map((row) => caseItem(row, null))
          return { ...base, agent_cases, total_count: total, count: agent_cases.length } satisfies GetResult
        }
        const { rows, total } = yield* agents.pageOfSkills(key, page)
        const sources = yield* agents.sourcesOf(rows.map((row) => row.skill_id))
        const agent_skills = rows.map((row) => skillItem(row, sources.get(row.skill_id) ?? [], null))
        return { ...base, agent_skills, total_count: total, count: agent_skills.length } satisfies GetResult
      })

    const get = Effect.fn("MemoryReader.get")(function*(request: GetRequest) {
      const agentType = AGENT_TYPES[request.memory_type]
      if (request.user_id === undefined) {
        if (agentType === undefined || request.agent_id === undefined) {
          return yield* new CapabilityUnavailable({
            capability: "agent memory",
            hint: "an agent's memory is its cases and skills (memory_type agent_case or agent_skill); episodes, facts, foresight and profiles are read with user_id"
          })
        }
        return yield* agentPage(request, request.agent_id)
      }
      if (agentType !== undefined) {
        return yield* new CapabilityUnavailable({
          capability: agentType,
          hint: "agent cases and skills are read with agent_id, not user_id"
        })
      }
      const query: ReadQuery = {
        app_id: request.app_id,
        project_id: request.project_id,
        user_id: request.user_id,
        filter: request.filters === undefined ? undefined : toFilterTree(request.filters),
        sort_by: sortColumnOf(request.sort_by),
        sort_order: request.sort_order,
        limit: request.page_size,
        offset: (request.page - 1) * request.page_size
      }
      const base = emptyResult(request)
      switch (request.memory_type) {
        case "profile": {
          // One profile per user: page 1 holds it, later pages are empty.
          const profile = yield* profiles.current({ app_id: request.app_id, project_id: request.project_id, user_id: request.user_id })
          const all = Option.toArray(profile)
          const page = request.page === 1 ? all : []
          return { ...base, profiles: page, total_count: all.length, count: page.length } satisfies GetResult
        }
        case "atomic_fact": {
          const { rows, total } = yield* reads.facts(query)
          const atomic_facts = rows.map((row): AtomicFactItem => ({
            id: row.fact_id,
            user_id: row.user_id,
            session_id: row.session_id,
            timestamp: row.timestamp,
            content: row.content,
            episode_id: row.episode_id,
            memcell_id: row.memcell_id,
            message_ids: row.message_ids
          }))
          return { ...base, atomic_facts, total_count: total, count: atomic_facts.length } satisfies GetResult
        }
        case "foresight": {
          const { rows, total } = yield* reads.foresight(query, request.valid_at)
          const foresight = rows.map((row): ForesightItem => ({
            id: row.foresight_id,
            user_id: row.user_id,
            session_id: row.session_id,
            content: row.content,
            start_time: row.start_time,
            end_time: row.end_time,
            evidence: row.evidence,
            memcell_id: row.memcell_id,
            message_ids: row.message_ids
          }))
          return { ...base, foresight, total_count: total, count: foresight.length } satisfies GetResult
        }
        default: {
          const { facts, rows, total } = yield* reads.episodes(query)
          const factsByEpisode = new Map<string, Array<(typeof facts)[number]>>()
          for (const fact of facts) {
            const list = factsByEpisode.get(fact.episode_id)
            if (list === undefined) factsByEpisode.set(fact.episode_id, [fact])
            else list.push(fact)
          }
          const episodes = rows.map((row): EpisodeItem => ({
            ...episodeView(row, row.content),
            atomic_facts: (factsByEpisode.get(row.episode_id) ?? []).map((fact) => ({
              id: fact.fact_id,
              content: fact.content,
              message_ids: fact.message_ids
            }))
          }))
          return { ...base, episodes, total_count: total, count: episodes.length } satisfies GetResult
        }
      }
    })

    /** A page of the sessions a user took part in, most recently active first. */
    const sessions = Effect.fn("MemoryReader.sessions")(function*(request: SessionsRequest) {
      const { rows, total } = yield* reads.sessions({
        app_id: request.app_id,
        project_id: request.project_id,
        user_id: request.user_id,
        limit: request.page_size,
        offset: (request.page - 1) * request.page_size
      })
      return {
        sessions: rows,
        total_count: total,
        count: rows.length,
        page: request.page,
        page_size: request.page_size
      } satisfies SessionsResult
    })

    return { get, sessions } as const
  }),
  dependencies: [ReadRepo.Default, AgentRepo.Default]
}) {}
