import { Duration, Effect, Schedule, Schema } from "effect"
import type { Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"

/**
 * The real entry point (`engram serve`) as a child process, for tests and benchmarks that need a
 * process they can `kill -9`, restart, or run twice on one data directory.
 */

const root = Path.join(import.meta.dirname, "..", "..")

export class ServerStartFailed extends Schema.TaggedError<ServerStartFailed>()("ServerStartFailed", {
  reason: Schema.String,
  output: Schema.String
}) {
  override get message() {
    return `engram serve did not start: ${this.reason}\n${this.output}`
  }
}

/** The environment of a fresh machine: no ENGRAM_* variables at all. */
export const cleanEnv = (): Record<string, string> =>
  Object.fromEntries(
    Object.entries(process.env).flatMap(([key, value]) => (key.startsWith("ENGRAM_") || value === undefined ? [] : [[key, value]]))
  )

/** A port that was free a moment ago (another process could still take it; fine on loopback). */
export const freePort = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

export interface ServerProcess {
  readonly url: string
  readonly pid: number
  /** Everything the process wrote to stdout and stderr so far. */
  readonly output: Effect.Effect<string>
  /** Sends `signal` and waits (at most `within`) for the exit; resolves to the exit code (null when killed by a signal). */
  readonly stop: (signal: NodeJS.Signals, within?: Duration.DurationInput) => Effect.Effect<number | null>
  /** Resident set size in KiB (Linux `/proc/<pid>/status` VmRSS); NaN elsewhere. */
  readonly rssKiB: Effect.Effect<number>
}

export interface ServerProcessOptions {
  readonly dataDir: string
  /** ENGRAM_* settings; the rest of the environment is the parent's minus every ENGRAM_ variable. */
  readonly env?: Readonly<Record<string, string>>
  /** Bound on the start (tsx transpiles on the fly: about 2 s on a quiet 2-core machine). */
  readonly startTimeout?: Duration.DurationInput
}

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode)
    child.once("exit", (code) => resolve(code))
  })

/** Starts `engram serve` on a free loopback port; it is killed (SIGKILL) when the scope closes, if still running. */
export const startServerProcess = (options: ServerProcessOptions): Effect.Effect<ServerProcess, ServerStartFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const port = yield* freePort
    let output = ""
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(
          process.execPath,
          ["--import", "tsx", "src/main.ts", "serve", "--port", String(port), "--data-dir", options.dataDir],
          { cwd: root, env: { ...cleanEnv(), ...options.env }, stdio: ["ignore", "pipe", "pipe"] }
        )
        child.stdout!.on("data", (chunk) => (output += chunk))
        child.stderr!.on("data", (chunk) => (output += chunk))
        return child
      }),
      (child) =>
        Effect.promise(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
          return exitOf(child)
        })
    )
    const url = `http://127.0.0.1:${port}`
    const exited = exitOf(child)
    let hasExited = false
    void exited.then(() => (hasExited = true))

    yield* Effect.suspend(() =>
      output.includes(`Listening on ${url}`)
        ? Effect.void
        : hasExited
        ? Effect.fail(new ServerStartFailed({ reason: `exited with ${child.exitCode ?? child.signalCode}`, output }))
        : Effect.fail(new ServerStartFailed({ reason: "not listening yet", output }))
    ).pipe(
      Effect.retry({ schedule: Schedule.spaced("50 millis"), while: (e) => e.reason === "not listening yet" }),
      Effect.timeoutFail({
        // tsx transpiles on start: ~2 s on a quiet machine, over 30 s on a saturated one.
        duration: options.startTimeout ?? Duration.seconds(120),
        onTimeout: () => new ServerStartFailed({ reason: "not listening in time", output })
      })
    )

    return {
      url,
      pid: child.pid!,
      output: Effect.sync(() => output),
      stop: (signal, within = Duration.seconds(15)) =>
        Effect.promise(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal)
          return exited
        }).pipe(
          Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`pid ${child.pid} did not exit after ${signal}`) }),
          Effect.orDie
        ),
      rssKiB: Effect.sync(() => {
        try {
          const status = Fs.readFileSync(`/proc/${child.pid}/status`, "utf8")
          const match = /VmRSS:\s+(\d+)\s+kB/.exec(status)
          return match === null ? Number.NaN : Number(match[1])
        } catch {
          return Number.NaN
        }
      })
    } satisfies ServerProcess
  })
