import { expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"



const root = Path.join(import.meta.dirname, "..", "..")

const engram = (args: ReadonlyArray<string>, env: Record<string, string>, input?: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
      cwd: root,
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ENGRAM_"))), ...env }
    }, (error, stdout, stderr) => resolve({ code: error ? (error as { code?: number }).code ?? 1 : 0, stdout, stderr }))
    if (input !== undefined) child.stdin!.end(input)
    else child.stdin!.end()
  })

it("add (file and stdin), flush and session work on a data directory; errors are one line with a non-zero exit", async () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-cli-"))
  // Not about embeddings: the CLI commands run without the model thread.
  const env = { ENGRAM_DATA_DIR: dir, ENGRAM_EMBEDDER: "off" }
  try {
    const file = Path.join(dir, "messages.json")
    Fs.writeFileSync(file, JSON.stringify({
      messages: [
        { message_id: "a1", sender_id: "alice", role: "user", timestamp: 1_700_000_000_000, content: "Hello there" },
        { message_id: "a2", sender_id: "bot", role: "assistant", timestamp: 1_700_000_001_000, content: "Hi Alice" }
      ]
    }))
    const added = await engram(["add", "--session", "cli", file], env)
    expect(added.code).toBe(0)
    expect(JSON.parse(added.stdout)).toMatchObject({ session_id: "cli", message_count: 2 })

    const piped = await engram(["add", "--session", "cli"], env, JSON.stringify([
      { message_id: "a3", sender_id: "alice", role: "user", timestamp: 1_700_000_002_000, content: "One more" }
    ]))
    expect(JSON.parse(piped.stdout)).toMatchObject({ message_count: 1 })

    expect(JSON.parse((await engram(["flush", "--session", "cli"], env)).stdout)).toMatchObject({ status: "extracted" })
    const session = JSON.parse((await engram(["session", "--session", "cli"], env)).stdout)
    expect(session.buffered).toEqual([])
    expect(session.memcells.flatMap((c: { message_ids: Array<string> }) => c.message_ids)).toEqual(["a1", "a2", "a3"])

    Fs.writeFileSync(file, JSON.stringify([{ sender_id: "alice", role: "tool", timestamp: 1, content: "x" }]))
    const invalid = await engram(["add", "--session", "cli", file], env)
    expect(invalid.code).not.toBe(0)
    expect(invalid.stderr.trim().split("\n").filter((l) => l.startsWith("engram:"))).toHaveLength(1)
    expect(invalid.stderr).toContain("tool_call_id")

    const typo = await engram(["session", "--session", "cli"], { ...env, ENGRAM_DATADIR: dir })
    expect(typo.code).not.toBe(0)
    expect(typo.stderr).toContain("ENGRAM_DATADIR")
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}, 600_000) // Seven CLI processes; tsx takes over 30 s to start each on a saturated machine.

