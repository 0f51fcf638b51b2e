import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { call } from "../support/HttpCall.js"
import { baseUrl } from "../support/HttpTestServer.js"
import { forEachEngine } from "../support/Engines.js"
import { productionHttpLayer } from "../support/ProductionHttpServer.js"

/**
 * Many (app, project, user) scopes ingest concurrently, reusing the same session ids and the same
 * message ids in every (app, project); each user talks in their own sessions (users sharing a
 * session are one conversation, whose episodes rightly quote each other). Every read (session view, get, search) must return only its
 * own scope's data, and a delete in one scope must leave every other scope exactly as it was.
 */

const APPS = ["app-a", "app-b"]
const PROJECTS = ["p1", "p2"]
const USERS = ["alice", "bob", "carol"]
const SESSIONS = ["shared-1", "shared-2"]
const BATCHES = 3
const TS = 1_700_000_000_000

interface Scope {
  readonly app_id: string
  readonly project_id: string
  readonly user: string
  /** A token that appears in this scope's messages and nowhere else. */
  readonly marker: string
}

const scopes: ReadonlyArray<Scope> = APPS.flatMap((app_id, a) =>
  PROJECTS.flatMap((project_id, p) => USERS.map((user, u) => ({ app_id, project_id, user, marker: `zq${a}${p}${u}x` })))
)

const SENTENCES = [
  "I am planning a hiking trip to the Dolomites with my sister next summer",
  "I bought a new road bike and I ride it to work every morning now",
  "I am learning to cook Sichuan food and I love the spicy noodles"
]

/** A user's session: the same id in every (app, project). */
const sessionOf = (user: string, session: string) => `${session}-${user}`

/** The same ids in every (app, project): ids are unique per (app, project), never globally. */
const batch = (scope: Scope, session: string, b: number) =>
  [0, 1].map((i) => ({
    message_id: `${session}-${b}-${i}`,
    sender_id: i === 0 ? scope.user : "assistant",
    role: i === 0 ? "user" : "assistant",
    timestamp: TS + (b * 2 + i) * 60_000 + USERS.indexOf(scope.user) * 1000,
    content: i === 0
      ? `${SENTENCES[b % SENTENCES.length]} (${scope.marker}).`
      : `That sounds great, tell me more (${scope.marker}).`
  }))

const scopeQuery = (scope: Pick<Scope, "app_id" | "project_id">) => `app_id=${scope.app_id}&project_id=${scope.project_id}`

/** No marker of another scope anywhere in an answer. */
const foreignMarkers = (text: string, own: ReadonlyArray<string>) =>
  scopes.map((s) => s.marker).filter((marker) => !own.includes(marker) && text.includes(marker))

forEachEngine((engine) =>
  it.scopedLive("concurrent ingestion into 12 scopes with colliding session and message ids: no read or delete crosses a scope", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        productionHttpLayer({ ENGRAM_EXTRACTION_POLL_INTERVAL: "100 millis", ENGRAM_EMBEDDER: "off" }, engine.fresh)
      ).pipe(Effect.orDie)
      const url = yield* Effect.provide(baseUrl, context)
      const post = (path: string, json: unknown) => call(`${url}${path}`, { json }).pipe(Effect.orDie)

      // Every scope, session and batch at once.
      const adds = scopes.flatMap((scope) =>
        SESSIONS.flatMap((session_id) =>
          Array.from({ length: BATCHES }, (_, b) =>
            post("/api/v2/memory/add", {
              app_id: scope.app_id,
              project_id: scope.project_id,
              session_id: sessionOf(scope.user, session_id),
              messages: batch(scope, sessionOf(scope.user, session_id), b)
            })
          )
        )
      )
      const replies = yield* Effect.all(adds, { concurrency: 24 })
      expect(replies.filter((r) => r.status !== 200).map((r) => r.text)).toEqual([])

      // Still-buffered messages are searchable too (unprocessed_messages): only one's own.
      for (const scope of scopes) {
        const found = yield* post("/api/v2/memory/search", {
          app_id: scope.app_id,
          project_id: scope.project_id,
          user_id: scope.user,
          query: "hiking bike noodles"
        })
        expect(found.status).toBe(200)
        expect(foreignMarkers(found.text, [scope.marker])).toEqual([])
      }

      // Flush every (app, project) session, waiting for extraction.
      for (const app_id of APPS) {
        for (const project_id of PROJECTS) {
          for (const session_id of USERS.flatMap((user) => SESSIONS.map((s) => sessionOf(user, s)))) {
            const flushed = yield* post("/api/v2/memory/flush", { app_id, project_id, session_id, wait: true, wait_timeout_ms: 30_000 })
            expect(flushed.body.data.extraction_complete).toBe(true)
          }
        }
      }


      /** Everything a scope can read about each of its users: the proof of isolation and the baseline for the delete. */
      const readAll = Effect.gen(function*() {
        const views: Record<string, string> = {}
        for (const scope of scopes) {
          const own = [scope.marker]
          for (const session_id of SESSIONS.map((s) => sessionOf(scope.user, s))) {
            const session = yield* call(`${url}/api/v2/memory/sessions/${session_id}?${scopeQuery(scope)}`).pipe(Effect.orDie)
            expect(session.body.data).toMatchObject({ app_id: scope.app_id, project_id: scope.project_id, session_id })
            expect(foreignMarkers(session.text, own)).toEqual([])
            views[`${scope.marker}/session/${session_id}`] = JSON.stringify(session.body.data)
          }
          for (const memory_type of ["episode", "atomic_fact", "foresight"]) {
            const got = yield* post("/api/v2/memory/get", { app_id: scope.app_id, project_id: scope.project_id, user_id: scope.user, memory_type, page_size: 100 })
            expect(got.status).toBe(200)
            expect(foreignMarkers(got.text, own)).toEqual([])
            views[`${scope.marker}/get/${memory_type}`] = JSON.stringify(got.body.data)
          }
          const found = yield* post("/api/v2/memory/search", {
            app_id: scope.app_id,
            project_id: scope.project_id,
            user_id: scope.user,
            query: "hiking trip bike noodles",
            top_k: -1
          })
          expect(found.status).toBe(200)
          expect(foreignMarkers(found.text, own)).toEqual([])
          for (const episode of found.body.data.episodes as ReadonlyArray<{ app_id: string; project_id: string; user_id: string }>) {
            expect(episode).toMatchObject({ app_id: scope.app_id, project_id: scope.project_id, user_id: scope.user })
          }
          views[`${scope.marker}/search`] = JSON.stringify(found.body.data.episodes.map((e: { id: string }) => e.id).sort())
        }
        return views
      })

      const before = yield* readAll
      // The test has teeth: every scope's user has episodes, facts and search hits.
      for (const scope of scopes) {
        for (const session_id of SESSIONS.map((s) => sessionOf(scope.user, s))) {
          const view = JSON.parse(before[`${scope.marker}/session/${session_id}`]!)
          expect(view.buffered).toEqual([])
          expect(view.memcells.flatMap((c: { message_ids: Array<string> }) => c.message_ids)).toHaveLength(BATCHES * 2)
        }
        expect(JSON.parse(before[`${scope.marker}/get/episode`]!).total_count).toBeGreaterThan(0)
        expect(JSON.parse(before[`${scope.marker}/search`]!).length).toBeGreaterThan(0)
      }

      // Forget alice in one scope only.
      const victim = scopes[0]!
      const deleted = yield* post("/api/v2/memory/delete", { app_id: victim.app_id, project_id: victim.project_id, user_id: victim.user })
      expect(deleted.status).toBe(200)
      expect(deleted.body.data.episodes).toBeGreaterThan(0)

      const after = yield* readAll
      const changed = Object.keys(before).filter((key) => before[key] !== after[key]).sort()
      // Only the victim's own views changed; the same user and the same ids in other scopes did not.
      expect(changed.filter((key) => !key.startsWith(`${victim.marker}/`))).toEqual([])
      expect(changed.length).toBeGreaterThan(0)
      expect(JSON.parse(after[`${victim.marker}/get/episode`]!).total_count).toBe(0)
      for (const session_id of SESSIONS.map((s) => sessionOf(victim.user, s))) {
        expect(after[`${victim.marker}/session/${session_id}`]).not.toContain(victim.marker)
      }
    }), 120_000))
