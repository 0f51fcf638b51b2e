import { SqlClient } from "@effect/sql"
import { Array as Arr, Data, Effect, Schema } from "effect"
import { CaseSteps } from "../Domain/TrackItems.js"
import { withBusyRetry } from "../Storage/Database.js"

/** Whose memory: an agent within a tenant scope. */
export interface AgentKey {
  readonly app_id: string
  readonly project_id: string
  readonly agent_id: string
}

const JsonStrings = Schema.parseJson(Schema.Array(Schema.String))

export const CaseRow = Schema.Struct({
  case_id: Schema.String,
  memcell_id: Schema.String,
  app_id: Schema.String,
  project_id: Schema.String,
  session_id: Schema.String,
  agent_id: Schema.String,
  task_intent: Schema.String,
  approach: Schema.parseJson(CaseSteps),
  key_insight: Schema.String,
  outcome: Schema.String,
  quality_score: Schema.Number,
  message_ids: JsonStrings,
  timestamp: Schema.Number,
  created_at: Schema.Number
})
export type CaseRow = typeof CaseRow.Type

export const SkillRow = Schema.Struct({
  skill_id: Schema.String,
  app_id: Schema.String,
  project_id: Schema.String,
  agent_id: Schema.String,
  name: Schema.String,
  intent: Schema.String,
  description: Schema.String,
  steps: JsonStrings,
  pitfalls: JsonStrings,
  confidence: Schema.Number,
  confirmations: Schema.Number,
  contradictions: Schema.Number,
  version: Schema.Number,
  builder: Schema.String,
  created_at: Schema.Number,
  updated_at: Schema.Number
})
export type SkillRow = typeof SkillRow.Type

/** A skill as a job writes it: the new state, the version it was computed from (0: new), its new source case. */
export interface SkillWrite {
  readonly skill: Omit<SkillRow, "version" | "created_at" | "updated_at">
  readonly expectedVersion: number
  readonly caseId: string
}

/** Another job changed the skill between our read and our write: the job runs again on the new one. */
export class AgentSkillChanged extends Data.TaggedError("AgentSkillChanged")<{ readonly skill_id: string }> {
  override get message() {
    return `skill ${this.skill_id} changed while it was being updated; retrying on the new version`
  }
}

/** Skills below this confidence are retired: kept for the record, never served or matched. */
export const RETIRED_BELOW = 0.1
/** Skills a new case is compared with, cases a skill is rebuilt from, cases a search scores. */
export const MAX_SKILLS_COMPARED = 100
export const MAX_CLUSTER_CASES = 20
export const MAX_SEARCHED_CASES = 500
const CHUNK = 500

const decodeAll = <A, I>(schema: Schema.Schema<A, I>) => (rows: ReadonlyArray<unknown>) =>
  Effect.orDie(Schema.decodeUnknown(Schema.Array(schema))(rows))

/** Owner of `agent_cases`, `agent_skills` and `agent_skill_cases`. */
export class AgentRepo extends Effect.Service<AgentRepo>()("engram/AgentRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const ofAgent = (key: AgentKey) => sql`app_id = ${key.app_id} AND project_id = ${key.project_id} AND agent_id = ${key.agent_id}`

    const activeSkills = Effect.fn("AgentRepo.activeSkills")(function*(key: AgentKey, limit: number) {
      return yield* sql`SELECT * FROM agent_skills WHERE ${ofAgent(key)} AND confidence >= ${RETIRED_BELOW}
        ORDER BY updated_at DESC, skill_id LIMIT ${limit}`.pipe(withBusyRetry("read skills"), Effect.flatMap(decodeAll(SkillRow)))
    })

    const casesOfSkill = Effect.fn("AgentRepo.casesOfSkill")(function*(skillId: string) {
      return yield* sql`SELECT c.* FROM agent_cases c JOIN agent_skill_cases l ON l.case_id = c.case_id
        WHERE l.skill_id = ${skillId} ORDER BY c.timestamp DESC LIMIT ${MAX_CLUSTER_CASES}`.pipe(
        withBusyRetry("read skill cases"),
        Effect.flatMap(decodeAll(CaseRow))
      )
    })

    /** Source case ids of each skill. */
    const sourcesOf = Effect.fn("AgentRepo.sourcesOf")(function*(skillIds: ReadonlyArray<string>) {
      const sources = new Map<string, Array<string>>()
      for (const ids of Arr.chunksOf(skillIds, CHUNK)) {
        const rows = yield* sql<{ skill_id: string; case_id: string }>`
          SELECT skill_id, case_id FROM agent_skill_cases WHERE ${sql.in("skill_id", ids)} ORDER BY case_id`.pipe(
          withBusyRetry("read skill sources")
        )
        for (const row of rows) {
          const list = sources.get(row.skill_id)
          if (list === undefined) sources.set(row.skill_id, [row.case_id])
          else list.push(row.case_id)
        }
      }
      return sources
    })

    const recentCases = Effect.fn("AgentRepo.recentCases")(function*(key: AgentKey, limit: number) {
      return yield* sql`SELECT * FROM agent_cases WHERE ${ofAgent(key)} ORDER BY timestamp DESC, case_id LIMIT ${limit}`.pipe(
        withBusyRetry("read cases"),
        Effect.flatMap(decodeAll(CaseRow))
      )
    })

    const pageOfCases = Effect.fn("AgentRepo.pageOfCases")(function*(
      key: AgentKey,
      page: { readonly sortBy: "timestamp" | "created_at"; readonly order: "asc" | "desc"; readonly limit: number; readonly offset: number }
    ) {
      const order = sql.literal(`${page.sortBy} ${page.order === "asc" ? "ASC" : "DESC"}, case_id`)
      const rows = yield* sql`SELECT * FROM agent_cases WHERE ${ofAgent(key)} ORDER BY ${order} LIMIT ${page.limit} OFFSET ${page.offset}`.pipe(
        withBusyRetry("page cases"),
        Effect.flatMap(decodeAll(CaseRow))
      )
      const total = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM agent_cases WHERE ${ofAgent(key)}`.pipe(withBusyRetry("count cases"))
      return { rows, total: total[0]?.n ?? 0 }
    })

    const pageOfSkills = Effect.fn("AgentRepo.pageOfSkills")(function*(
      key: AgentKey,
      page: { readonly order: "asc" | "desc"; readonly limit: number; readonly offset: number }
    ) {
      const order = sql.literal(`updated_at ${page.order === "asc" ? "ASC" : "DESC"}, skill_id`)
      const rows = yield* sql`SELECT * FROM agent_skills WHERE ${ofAgent(key)} AND confidence >= ${RETIRED_BELOW}
        ORDER BY ${order} LIMIT ${page.limit} OFFSET ${page.offset}`.pipe(withBusyRetry("page skills"), Effect.flatMap(decodeAll(SkillRow)))
      const total = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM agent_skills
        WHERE ${ofAgent(key)} AND confidence >= ${RETIRED_BELOW}`.pipe(withBusyRetry("count skills"))
      return { rows, total: total[0]?.n ?? 0 }
    })

    /**
     * Inside the `agent` job's result transaction: replaces the memcell's cases, then writes each
     * skill if it is still at the version it was computed from (else AgentSkillChanged, rolling
     * everything back) and links it to its new case.
     */
    const writeJob = (memcellId: string, cases: ReadonlyArray<Omit<CaseRow, "created_at">>, skills: ReadonlyArray<SkillWrite>, now: number) =>
      Effect.gen(function*() {
        yield* sql`DELETE FROM agent_cases WHERE memcell_id = ${memcellId}`
        if (cases.length > 0) {
          yield* sql`INSERT INTO agent_cases ${
            sql.insert(cases.map((c) => ({
              ...c,
              approach: JSON.stringify(c.approach),
              message_ids: JSON.stringify(c.message_ids),
              created_at: now,
              extractor: "agent_track"
            })))
          }`
        }
        for (const write of skills) {
          const { skill } = write
          const values = { ...skill, steps: JSON.stringify(skill.steps), pitfalls: JSON.stringify(skill.pitfalls) }
          if (write.expectedVersion === 0) {
            const inserted = yield* sql`INSERT INTO agent_skills ${sql.insert({ ...values, version: 1, created_at: now, updated_at: now })}
              ON CONFLICT (skill_id) DO NOTHING RETURNING skill_id`
            if (inserted.length === 0) return yield* new AgentSkillChanged({ skill_id: skill.skill_id })
          } else {
            const updated = yield* sql`UPDATE agent_skills SET name = ${skill.name}, intent = ${skill.intent},
                description = ${skill.description}, steps = ${values.steps}, pitfalls = ${values.pitfalls},
                confidence = ${skill.confidence}, confirmations = ${skill.confirmations}, contradictions = ${skill.contradictions},
                builder = ${skill.builder}, version = version + 1, updated_at = ${now}
              WHERE skill_id = ${skill.skill_id} AND version = ${write.expectedVersion} RETURNING skill_id`
            if (updated.length === 0) return yield* new AgentSkillChanged({ skill_id: skill.skill_id })
          }
          yield* sql`INSERT INTO agent_skill_cases ${sql.insert({ skill_id: skill.skill_id, case_id: write.caseId })} ON CONFLICT DO NOTHING`
        }
      })

    /**
     * Inside a delete's transaction: the cases of these memcells, and every skill built from one of
     * them (derived memory never outlives its source; later cases build the skill again).
     */
    const forgetMemcells = (scope: { readonly app_id: string; readonly project_id: string }, memcellIds: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const cases = yield* sql<{ case_id: string }>`SELECT case_id FROM agent_cases
          WHERE app_id = ${scope.app_id} AND project_id = ${scope.project_id} AND ${sql.in("memcell_id", memcellIds)}`
        if (cases.length === 0) return
        const caseIds = cases.map((c) => c.case_id)
        for (const ids of Arr.chunksOf(caseIds, CHUNK)) {
          const skills = yield* sql<{ skill_id: string }>`SELECT DISTINCT skill_id FROM agent_skill_cases WHERE ${sql.in("case_id", ids)}`
          const skillIds = skills.map((s) => s.skill_id)
          if (skillIds.length > 0) {
            yield* sql`DELETE FROM agent_skill_cases WHERE ${sql.in("skill_id", skillIds)}`
            yield* sql`DELETE FROM agent_skills WHERE ${sql.in("skill_id", skillIds)}`
          }
          yield* sql`DELETE FROM agent_skill_cases WHERE ${sql.in("case_id", ids)}`
        }
        for (const ids of Arr.chunksOf(memcellIds, CHUNK)) {
          yield* sql`DELETE FROM agent_cases WHERE app_id = ${scope.app_id} AND project_id = ${scope.project_id} AND ${sql.in("memcell_id", ids)}`
        }
      })

    return { activeSkills, casesOfSkill, sourcesOf, recentCases, pageOfCases, pageOfSkills, writeJob, forgetMemcells } as const
  })
}) {}
