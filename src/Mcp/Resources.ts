import { McpSchema, McpServer } from "@effect/ai"
import { Clock, Effect, Layer, Option } from "effect"
import type { McpDefaults } from "../Config/EngramConfig.js"
import { GetRequest } from "../Domain/GetRequest.js"
import { DEFAULT_SCOPE_ID, SenderId, SessionId } from "../Domain/Message.js"
import { SessionsRequest } from "../Domain/SessionsRequest.js"
import { Memory } from "../Memorize/Memory.js"
import { toSessionView } from "../Memorize/SessionView.js"
import { MemoryReader } from "../Reading/MemoryReader.js"
import { asRequest, decodeAs, withScopeDefaults } from "./ToolInput.js"

/**
 * Readable MCP resources, in the configured (app, project): what Engram holds about a user, and a
 * session (its buffered messages and memcells, the session view of HTTP and CLI).
 */

/** How much of each kind the user resource shows: the newest items, enough to orient a model. */
const USER_RESOURCE_ITEMS = 50

const USER_DESCRIPTION = "What Engram holds about a user: their most recent atomic facts, the foresight valid now and " +
  "their most recent sessions. Engram does not extract user profiles yet; this stands in for one."

const SESSION_DESCRIPTION = "A session: its messages still buffered (not yet in a memcell) and its memcells (with their " +
  "message ids), in order."

const userMemory = (defaults: McpDefaults, userId: string) =>
  Effect.gen(function*() {
    const reader = yield* MemoryReader
    const now = yield* Clock.currentTimeMillis
    const scoped = withScopeDefaults(defaults, { user_id: userId, page_size: USER_RESOURCE_ITEMS })
    const facts = yield* decodeAs(GetRequest, { ...scoped, memory_type: "atomic_fact" }).pipe(Effect.flatMap(reader.get))
    const foresight = yield* decodeAs(GetRequest, { ...scoped, memory_type: "foresight", valid_at: now }).pipe(Effect.flatMap(reader.get))
    const sessions = yield* decodeAs(SessionsRequest, scoped).pipe(Effect.flatMap(reader.sessions))
    return JSON.stringify(
      {
        user_id: userId,
        app_id: scoped.app_id ?? DEFAULT_SCOPE_ID,
        project_id: scoped.project_id ?? DEFAULT_SCOPE_ID,
        about: USER_DESCRIPTION,
        recent_atomic_facts: facts.atomic_facts,
        atomic_facts_total: facts.total_count,
        foresight_valid_now: foresight.foresight,
        foresight_valid_now_total: foresight.total_count,
        recent_sessions: sessions.sessions,
        sessions_total: sessions.total_count
      },
      null,
      2
    )
  }).pipe(asRequest("resource user"))

const sessionView = (defaults: McpDefaults, sessionId: string) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const scope = {
      app_id: Option.getOrElse(defaults.appId, () => DEFAULT_SCOPE_ID),
      project_id: Option.getOrElse(defaults.projectId, () => DEFAULT_SCOPE_ID)
    }
    const session = yield* memory.session({ ...scope, session_id: sessionId })
    return JSON.stringify(toSessionView(session), null, 2)
  }).pipe(asRequest("resource session"))

const userIdParam = McpSchema.param("user_id", SenderId)
const sessionIdParam = McpSchema.param("session_id", SessionId)

/** The resources; with a configured user, that user's resource is also listed directly. */
export const engramResources = (defaults: McpDefaults) =>
  Layer.mergeAll(
    McpServer.resource`engram://users/${userIdParam}`({
      name: "User memory (facts, foresight, sessions)",
      description: USER_DESCRIPTION,
      mimeType: "application/json",
      content: (_uri, userId) => userMemory(defaults, userId)
    }),
    McpServer.resource`engram://sessions/${sessionIdParam}`({
      name: "Session (buffered messages and memcells)",
      description: SESSION_DESCRIPTION,
      mimeType: "application/json",
      content: (_uri, sessionId) => sessionView(defaults, sessionId)
    }),
    Option.match(defaults.userId, {
      onNone: () => Layer.empty,
      onSome: (userId) =>
        McpServer.resource({
          uri: `engram://users/${userId}`,
          name: `Memory of ${userId} (facts, foresight, sessions)`,
          description: USER_DESCRIPTION,
          mimeType: "application/json",
          content: userMemory(defaults, userId)
        })
    })
  )
