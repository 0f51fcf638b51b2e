import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

/**
 * A throwaway PostgreSQL cluster for a test run (or a benchmark): initdb in a temp dir, one
 * server on a free port of 127.0.0.1 with its socket in that dir, trust auth, stopped by PID.
 * As root the cluster runs as the `postgres` user (the server refuses to run as root). fsync is
 * off (nothing of a throwaway cluster must survive an OS crash); commits stay synchronous.
 */
export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`: the admin database. */
  readonly url: string
  readonly port: number
  readonly dir: string
  readonly stop: () => void
}

const CANDIDATE_BIN_DIRS = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"]

const onPath = (name: string): string | undefined =>
  (process.env["PATH"] ?? "").split(Path.delimiter).map((dir) => Path.join(dir, name)).find((file) => Fs.existsSync(file))

/** The directory holding initdb, pg_ctl and postgres, or why there is none. */
export const findBinaries = (): { readonly binDir: string } | { readonly missing: string } => {
  const initdb = onPath("initdb")
  const dirs = [...(initdb === undefined ? [] : [Path.dirname(Fs.realpathSync(initdb))]), ...CANDIDATE_BIN_DIRS]
  const binDir = dirs.find((dir) => ["initdb", "pg_ctl", "postgres"].every((b) => Fs.existsSync(Path.join(dir, b))))
  return binDir === undefined
    ? { missing: `PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH nor in ${CANDIDATE_BIN_DIRS.join(", ")}` }
    : { binDir }
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const isRoot = () => process.getuid?.() === 0

/** Runs a server binary, as `postgres` when we are root. */
const run = (binDir: string, args: ReadonlyArray<string>) => {
  const [command, argv] = isRoot()
    ? ["runuser", ["-u", "postgres", "--", Path.join(binDir, args[0]!), ...args.slice(1)]]
    : [Path.join(binDir, args[0]!), args.slice(1)]
  const result = ChildProcess.spawnSync(command, argv, { encoding: "utf8", timeout: 120_000 })
  if (result.status !== 0) {
    throw new Error(`${args[0]} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`)
  }
}

const postmasterPid = (dir: string): number | undefined => {
  try {
    const pid = Number(Fs.readFileSync(Path.join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0])
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** Starts a cluster; its `stop` kills the server by PID (fast shutdown) and removes the directory. */
export const startCluster = async (binDir: string): Promise<PostgresCluster> => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-pg-"))
  if (isRoot()) {
    const uid = Number(ChildProcess.execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim())
    const gid = Number(ChildProcess.execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim())
    Fs.chownSync(dir, uid, gid)
  }
  const data = Path.join(dir, "data")
  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = true
    const pid = postmasterPid(dir)
    if (pid !== undefined) {
      try {
        // SIGINT: fast shutdown (active sessions rolled back; nothing to keep in a throwaway cluster).
        process.kill(pid, "SIGINT")
        waitForExit(pid)
      } catch {
        // already gone
      }
    }
    Fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    run(binDir, ["initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
    const port = await freePort()
    run(binDir, [
      "pg_ctl", "-D", data, "-l", Path.join(dir, "server.log"), "-w", "-t", "120",
      "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off`, "start"
    ])
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dir, stop }
  } catch (error) {
    stop()
    throw error
  }
}

/** Polls (bounded) until `pid` is gone, so the directory is removed after the server let go of it. */
const waitForExit = (pid: number) => {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    ChildProcess.spawnSync("sleep", ["0.05"])
  }
}

/** A throwaway cluster from the binaries found on this machine; throws saying which are missing. */
export const startFoundCluster = async (): Promise<PostgresCluster> => {
  const found = findBinaries()
  if ("missing" in found) throw new Error(found.missing)
  return startCluster(found.binDir)
}
