import { Effect, Option } from "effect"
import { Embedder } from "../Llm/Embedder.js"
import type { MemcellInput } from "../Extraction/Extractors.js"
import { safeText } from "../Extraction/Extractors.js"
import { makeKeyedSemaphore } from "../Memorize/KeyedSemaphore.js"
import { Lexicon } from "../Text/Lexicon.js"
import { AgentModel } from "./AgentModel.js"
import { type AgentKey, AgentRepo, type CaseRow, MAX_SKILLS_COMPARED, type SkillRow, type SkillWrite } from "./AgentRepo.js"
import { cosine } from "../Indexing/Cosine.js"
import {
  jaccard,
  MIN_SKILL_QUALITY,
  nextConfidence,
  offlineSkill,
  SAME_CLUSTER_COSINE,
  SAME_CLUSTER_JACCARD
} from "./Skills.js"
import { agentsOf, type CaseDraft, MAX_TRAJECTORY_CHARS, offlineCase, trajectoryOf, worthACase } from "./Trajectory.js"

export const caseIdOf = (memcellId: string, agentId: string) => `case_${memcellId}_${agentId}`

/**
 * The `agent` job: for each agent of a memcell (at most three), a case from its trajectory (one
 * model call, or offline), then the skill of the case's cluster written or updated (one model
 * call, or offline). At most two calls per agent. An agent's jobs run one at a time in a process;
 * across processes each skill write is a compare-and-set, and the later job starts over.
 */
export class AgentTrack extends Effect.Service<AgentTrack>()("engram/AgentTrack", {
  scoped: Effect.gen(function*() {
    const repo = yield* AgentRepo
    const lexicon = yield* Lexicon
    const model = yield* Effect.serviceOption(AgentModel)
    const embedder = yield* Effect.serviceOption(Embedder)
    const locks = yield* makeKeyedSemaphore()

    const keyOf = (input: MemcellInput, agent_id: string): AgentKey => ({
      app_id: input.memcell.app_id,
      project_id: input.memcell.project_id,
      agent_id
    })

    /** Runs `effect` holding the lock of every agent of the memcell (taken in one order: no deadlock). */
    const serialized = <A, E, R>(input: MemcellInput, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      agentsOf(input).map((agent) => `${input.memcell.app_id}\u0000${input.memcell.project_id}\u0000${agent}`).sort()
        .reduceRight<Effect.Effect<A, E, R>>((inner, key) => locks.withPermit(key, inner), effect)

    /** The skill whose intent is closest to `intent`, if close enough to share its cluster. */
    const clusterOf = (intent: string, skills: ReadonlyArray<SkillRow>) =>
      Effect.gen(function*() {
        if (skills.length === 0) return undefined
        if (Option.isSome(embedder)) {
          const vectors = yield* embedder.value.embed([intent, ...skills.map((s) => s.intent)]).pipe(
            Effect.tapError((error) => Effect.logWarning("skill clustering falls back to terms").pipe(Effect.annotateLogs({ error: error.reason }))),
            Effect.option
          )
          if (Option.isSome(vectors)) {
            const [query, ...rest] = vectors.value
            let best: { skill: SkillRow; score: number } | undefined
            rest.forEach((vector, i) => {
              const score = cosine(query!, vector)
              if (score >= SAME_CLUSTER_COSINE && (best === undefined || score > best.score)) best = { skill: skills[i]!, score }
            })
            return best?.skill
          }
        }
        const terms = lexicon.terms(intent)
        let best: { skill: SkillRow; score: number } | undefined
        for (const skill of skills) {
          const score = jaccard(terms, lexicon.terms(skill.intent))
          if (score >= SAME_CLUSTER_JACCARD && (best === undefined || score > best.score)) best = { skill, score }
        }
        return best?.skill
      })

    const skillFor = (key: AgentKey, caseId: string, draft: CaseDraft) =>
      Effect.gen(function*() {
        const match = yield* clusterOf(draft.task_intent, yield* repo.activeSkills(key, MAX_SKILLS_COMPARED))
        const written = Option.isSome(model)
          ? yield* model.value.writeSkill(match, draft)
          : offlineSkill(match, match === undefined ? [] : (yield* repo.casesOfSkill(match.skill_id)).filter((c) => c.case_id !== caseId), draft)
        const verdict = match === undefined ? "new" : written.verdict === "new" ? "confirms" : written.verdict
        const skill: SkillWrite["skill"] = {
          skill_id: match?.skill_id ?? `skill_${caseId}`,
          app_id: key.app_id,
          project_id: key.project_id,
          agent_id: key.agent_id,
          name: written.name,
          intent: match?.intent ?? draft.task_intent,
          description: written.description,
          steps: written.steps,
          pitfalls: written.pitfalls,
          confidence: nextConfidence(match?.confidence ?? 0, verdict),
          confirmations: (match?.confirmations ?? 0) + (verdict === "confirms" || verdict === "extends" ? 1 : 0),
          contradictions: (match?.contradictions ?? 0) + (verdict === "contradicts" ? 1 : 0),
          builder: Option.isSome(model) ? "llm" : "cases"
        }
        return { skill, expectedVersion: match?.version ?? 0, caseId } satisfies SkillWrite
      })

    /** The `agent` job's work: returns the write to run (with the job's `markDone`) in one transaction. */
    const prepareJob = Effect.fn("AgentTrack.prepareJob")(function*(input: MemcellInput) {
      const cases: Array<Omit<CaseRow, "created_at">> = []
      const skills: Array<SkillWrite> = []
      for (const agent of agentsOf(input)) {
        const trajectory = trajectoryOf(input, agent)
        if (!worthACase(trajectory)) continue
        if (trajectory.reduce((n, m) => n + safeText(m.content).length, 0) > MAX_TRAJECTORY_CHARS) continue
        const draft = Option.isSome(model) ? yield* model.value.compressCase(agent, trajectory) : offlineCase(agent, trajectory)
        if (draft === null) continue
        const case_id = caseIdOf(input.memcell.memcell_id, agent)
        cases.push({
          case_id,
          memcell_id: input.memcell.memcell_id,
          app_id: input.memcell.app_id,
          project_id: input.memcell.project_id,
          session_id: input.memcell.session_id,
          agent_id: agent,
          task_intent: draft.task_intent,
          approach: draft.approach,
          key_insight: draft.key_insight,
          outcome: draft.outcome,
          quality_score: draft.quality_score,
          message_ids: draft.message_ids,
          timestamp: input.memcell.timestamp
        })
        if (draft.quality_score >= MIN_SKILL_QUALITY) skills.push(yield* skillFor(keyOf(input, agent), case_id, draft))
      }
      return (now: number) => repo.writeJob(input.memcell.memcell_id, cases, skills, now)
    })

    return { serialized, prepareJob } as const
  }),
  dependencies: [AgentRepo.Default]
}) {}
