import { expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

const root = Path.join(import.meta.dirname, "..", "..")

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

/** The environment of a fresh machine: no ENGRAM_* variables at all. */
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("ENGRAM_")))

it("the real entry point serves on an empty data dir with no LLM configured, embeds with the local model, and stops cleanly on SIGTERM", async () => {
  const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "engram-serve-"))
  const port = await freePort()
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "serve", "--port", String(port), "--data-dir", dataDir], {
    cwd: root,
    env: cleanEnv(),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout.on("data", (chunk) => (output += chunk))
  child.stderr.on("data", (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  try {
    const url = `http://127.0.0.1:${port}`
    // tsx transpiles on start: seconds when the machine is busy. Wait for the log line or the
    // exit, bounded only by the test's timeout (a fixed 10 s here failed under load).
    let hasExited = false
    void exited.then(() => (hasExited = true))
    while (!output.includes("Listening on") && !hasExited) await new Promise((resolve) => setTimeout(resolve, 100))
    expect(output).toContain(`Listening on ${url}`)

    const health = await (await fetch(`${url}/health`)).json()
    expect(health).toMatchObject({ status: "ok", capabilities: { llm: false, boundary_detector: "local" } })

    const messages = [
      "I'm planning a trip to Kyoto in April to see the cherry blossoms.",
      "Kyoto in April is lovely; book hotels early because of the blossom season.",
      "Which temples are best for cherry blossoms in Kyoto?",
      "Maruyama Park and the Philosopher's Path are the classic blossom spots."
    ].map((content, i) => ({
      sender_id: i % 2 === 0 ? "alice" : "assistant",
      role: i % 2 === 0 ? "user" : "assistant",
      timestamp: 1_700_000_000_000 + i * 60_000,
      content
    }))
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    const added: any = await (await post("/api/v2/memory/add", { session_id: "trip", messages })).json()
    expect(added.data).toMatchObject({ message_count: 4 })
    const flushed: any = await (await post("/api/v2/memory/flush", { session_id: "trip" })).json()
    expect(flushed.data).toEqual({ status: "extracted" })
    const session: any = await (await fetch(`${url}/api/v2/memory/sessions/trip`)).json()
    expect(session.data.buffered).toEqual([])
    expect(session.data.memcells.flatMap((c: { message_ids: Array<string> }) => c.message_ids)).toHaveLength(4)
    expect(Fs.existsSync(Path.join(dataDir, "engram.db"))).toBe(true)

    // The default embedder is the bundled local model: vectors are computed offline, and hybrid
    // search finds a paraphrase that shares no word with the conversation.
    const embedding: any = await (await fetch(`${url}/health`)).json()
    expect(embedding.capabilities).toMatchObject({
      embed: true,
      embedder: { model: "local/universal-sentence-encoder-lite-en@0.2.0", dimensions: 512 }
    })
    // Two sessions alike in shape (each also yields one fact), unlike in meaning.
    const conversation = (start: number, said: ReadonlyArray<string>) =>
      said.map((content, i) => ({
        sender_id: i % 2 === 0 ? "alice" : "assistant",
        role: i % 2 === 0 ? "user" : "assistant",
        timestamp: start + i * 60_000,
        content
      }))
    await post("/api/v2/memory/add", {
      session_id: "car",
      messages: conversation(1_700_000_600_000, [
        "My car needs new tires and the brakes squeak when I stop.",
        "Take it to the garage on Tuesday; they can look at the brakes as well."
      ])
    })
    await post("/api/v2/memory/add", {
      session_id: "garden",
      messages: conversation(1_700_000_900_000, [
        "I planted tomatoes and basil in my backyard garden.",
        "Water them every morning while the weather is hot."
      ])
    })
    for (const session_id of ["car", "garden", "trip"]) {
      const waited: any = await (await post("/api/v2/memory/flush", { session_id, wait: true, wait_timeout_ms: 120_000 })).json()
      expect(waited.data).toMatchObject({ extraction_complete: true })
    }
    // The fields this test reads of a search reply, decoded rather than assumed.
    const SearchReply = Schema.Struct({
      data: Schema.Struct({ method: Schema.String, episodes: Schema.Array(Schema.Struct({ session_id: Schema.String })) })
    })
    const search = async (query: string, method?: string) =>
      Schema.decodeUnknownSync(SearchReply)(
        await (await post("/api/v2/memory/search", { user_id: "alice", query, ...(method ? { method } : {}) })).json()
      ).data
    for (const [query, session] of [["vehicle maintenance appointment", "car"], ["growing vegetables at home", "garden"]] as const) {
      expect((await search(query, "keyword")).episodes).toEqual([])
      const hybrid = await search(query)
      expect(hybrid.method).toBe("hybrid")
      expect(hybrid.episodes[0]?.session_id).toBe(session)
    }

    child.kill("SIGTERM")
    expect(await exited).toBe(0)
  } finally {
    child.kill("SIGKILL")
    Fs.rmSync(dataDir, { recursive: true, force: true })
  }
}, 300_000)
