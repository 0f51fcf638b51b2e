import { describe, expect, layer } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { JobQueue } from "../../src/Jobs/JobQueue.js"
import { baseUrl, type Reply, request } from "../support/HttpTestServer.js"
import { httpTestLayer } from "../support/HttpTestServer.js"
import { boundaryAnswer } from "../support/MemoryTestLayer.js"

const MONDAY = Date.UTC(2024, 4, 6, 18, 0)

const expectError = (reply: Reply, status: number, code: string, messagePart?: string) => {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status, code })
  if (messagePart !== undefined) expect(reply.body.error.message).toContain(messagePart)
}

/** The gauge lines of `engram_jobs` in a /metrics text. */
const jobGauges = (text: string) =>
  Object.fromEntries(
    text.split("\n").flatMap((line) => {
      const match = /^engram_jobs\{status="(\w+)"\} (\S+)$/.exec(line)
      return match === null ? [] : [[match[1]!, Number(match[2])]]
    })
  )

// No extraction workers run here: the test moves jobs through the queue itself with JobQueue.
layer(httpTestLayer({ llm: () => boundaryAnswer([]) }), { excludeTestServices: true, timeout: "60 seconds" })("HTTP jobs API", (it) => {
  describe("dead letters", () => {
    it.effect("are listed with their last error, counted in /health and /metrics, and re-queued by retry", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const jobs = yield* JobQueue
        const health = Effect.map(request(`${url}/health`), (reply) => reply.body.jobs)
        const list = (query = "") => request(`${url}/api/v2/jobs${query}`)

        expect(yield* health).toEqual({ queued: 0, running: 0, failed: 0, dead: 0 })
        yield* request(`${url}/api/v2/memory/add`, {
          body: { session_id: "j1", messages: [{ sender_id: "alice", role: "user", timestamp: MONDAY, content: "I live in Lisbon." }] }
        })
        expect((yield* request(`${url}/api/v2/memory/flush`, { body: { session_id: "j1" } })).body.data.status).toBe("extracted")
        expect(yield* health).toEqual({ queued: 3, running: 0, failed: 0, dead: 0 })

        const now = yield* Clock.currentTimeMillis
        const claimed = yield* jobs.claim("test", now, 60_000, 10)
        expect(claimed.length).toBe(3)
        expect(yield* health).toEqual({ queued: 0, running: 3, failed: 0, dead: 0 })
        const [first, second, third] = claimed
        yield* jobs.fail(first!, "model said no (first)", now, null)
        yield* jobs.fail(second!, "model said no (second)", now + 1, null)
        yield* jobs.fail(third!, "timeout", now, now + 3_600_000)
        expect(yield* health).toEqual({ queued: 1, running: 0, failed: 1, dead: 2 })
        expect(jobGauges((yield* request(`${url}/metrics`)).text)).toEqual({ queued: 1, running: 0, failed: 1, dead: 2 })

        const dead = yield* list("?status=dead")
        expect(dead.status).toBe(200)
        expect(dead.body.request_id).toBe(dead.headers.get("x-request-id"))
        expect(dead.body.data.jobs.map((job: { job_id: string }) => job.job_id)).toEqual([second!.job_id, first!.job_id])
        expect(dead.body.data.jobs[0]).toEqual({
          job_id: second!.job_id,
          kind: second!.kind,
          memcell_id: second!.memcell_id,
          app_id: "default",
          project_id: "default",
          session_id: "j1",
          attempts: 1,
          last_error: "model said no (second)",
          updated_at: now + 1
        })
        expect((yield* list("?status=dead&limit=1")).body.data.jobs.length).toBe(1)
        expect((yield* request(`${url}/api/v1/jobs`)).body.data).toEqual(dead.body.data)
        expectError(yield* list("?status=queued"), 422, "INVALID_INPUT", "status")
        expectError(yield* list("?limit=0"), 422, "INVALID_INPUT", "limit")
        expectError(yield* list("?limit=many"), 422, "INVALID_INPUT", "limit")

        const retryOne = yield* request(`${url}/api/v2/jobs/retry`, { body: { job_ids: [first!.job_id, "no-such-job"] } })
        expect(retryOne.body.data).toEqual({ retried: 1 })
        expect((yield* list()).body.data.jobs.map((job: { job_id: string }) => job.job_id)).toEqual([second!.job_id])
        expect(yield* health).toEqual({ queued: 2, running: 0, failed: 1, dead: 1 })

        const retryAll = yield* request(`${url}/api/v2/jobs/retry`, { body: {} })
        expect(retryAll.body.data).toEqual({ retried: 1 })
        expect((yield* list()).body.data.jobs).toEqual([])
        expect(yield* health).toEqual({ queued: 3, running: 0, failed: 1, dead: 0 })
        expect((yield* request(`${url}/api/v2/jobs/retry`, { method: "POST" })).body.data).toEqual({ retried: 0 })
      }))

    it.effect("retry refuses malformed bodies", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const retry = (body: unknown) => request(`${url}/api/v2/jobs/retry`, { body })
        expectError(yield* retry({ job_ids: [] }), 422, "INVALID_INPUT", "job_ids")
        expectError(yield* retry({ job_ids: "all" }), 422, "INVALID_INPUT", "job_ids")
        expectError(yield* retry({ jobs: ["x"] }), 422, "INVALID_INPUT", "jobs")
        expectError(yield* request(`${url}/api/v2/jobs`, { method: "DELETE" }), 405, "METHOD_NOT_ALLOWED")
      }))
  })
})
