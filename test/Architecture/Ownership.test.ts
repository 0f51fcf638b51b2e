import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"

/** The stage layout's rules, read off the source: who may write which table, what imports what. */

const SRC = Path.join(import.meta.dirname, "..", "..", "src")

const sourceFiles = (dir: string): ReadonlyArray<string> =>
  Fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = Path.join(dir, entry.name)
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith(".ts") ? [path] : []
  })

const relative = (file: string) => Path.relative(SRC, file).split(Path.sep).join("/")

const files = sourceFiles(SRC).map((file) => ({ path: relative(file), text: Fs.readFileSync(file, "utf8") }))

/** Files outside `owners` (folders or files, relative to src) whose SQL writes `table`. */
const writersOf = (table: string, owners: ReadonlyArray<string>) => {
  const write = new RegExp(`(INSERT\\s+(OR\\s+\\w+\\s+)?INTO|UPDATE|DELETE\\s+FROM)\\s+${table}\\b`, "i")
  return files
    .filter((file) => !owners.some((owner) => file.path === owner || file.path.startsWith(`${owner}/`)))
    .filter((file) => write.test(file.text))
    .map((file) => file.path)
}

describe("one owner per table", () => {
  it("only the job queue writes extraction_jobs (migrations aside)", () => {
    expect(writersOf("extraction_jobs", ["Jobs/JobQueue.ts", "Storage/migrations"])).toEqual([])
  })

  it("only the ledger writes messages, except the commit's claim and forgetting", () => {
    expect(writersOf("messages", ["Ledger", "Memorize/MemcellRepo.ts", "Reading/Forget.ts", "Storage/migrations"])).toEqual([])
  })

  it("only the commit writes memcells, except forgetting", () => {
    expect(writersOf("memcells", ["Memorize/MemcellRepo.ts", "Reading/Forget.ts", "Storage/migrations"])).toEqual([])
  })

  it("only the profile repository writes profiles and their fold records", () => {
    expect(writersOf("profile(s|_memcells)", ["Profiles/ProfileRepo.ts", "Storage/migrations"])).toEqual([])
  })

  it("only the agent repository writes agent cases, skills and their links", () => {
    expect(writersOf("agent_(cases|skills|skill_cases)", ["AgentTrack/AgentRepo.ts", "Storage/migrations"])).toEqual([])
  })

  it("only Indexing writes the vectors and the record of their model (the search triggers aside)", () => {
    expect(writersOf("(item_embeddings|item_vectors|vector_garbage|search_meta)", ["Indexing", "Storage/migrations"])).toEqual([])
  })

  it("only the session lease repository writes session leases (Memorize owns them)", () => {
    expect(writersOf("session_leases", ["Memorize/SessionLeaseRepo.ts", "Storage/migrations"])).toEqual([])
  })

  it("only the passage index writes passages", () => {
    expect(writersOf("passages(_fts)?", ["Indexing/PassageIndex.ts", "Storage/migrations"])).toEqual([])
  })

  it("only the passage vectors write passage_embeddings", () => {
    expect(writersOf("passage_embeddings", ["Indexing/PassageVectors.ts", "Storage/migrations"])).toEqual([])
  })
})

describe("imports", () => {
  const importsOf = (text: string) => [...text.matchAll(/from "(\.[^"]+)"/g)].map((match) => match[1]!)

  it("Domain imports nothing else of Engram", () => {
    const outside = files
      .filter((file) => file.path.startsWith("Domain/"))
      .flatMap((file) => importsOf(file.text).filter((spec) => !spec.startsWith("./")).map((spec) => `${file.path} -> ${spec}`))
    expect(outside).toEqual([])
  })

  it("the Layer graph is assembled in the composition root: no stage imports Engram.ts but the edges", () => {
    const importers = files
      .filter((file) => importsOf(file.text).some((spec) => spec.endsWith("/Engram.js")))
      .map((file) => file.path.split("/")[0])
    expect([...new Set(importers)].filter((folder) => !["Cli", "Eval", "Http"].includes(folder!))).toEqual([])
  })
  const EDGES = ["Http", "Cli", "Mcp", "Eval"]
  const folderOf = (path: string) => path.split("/")[0]!
  const targetsOf = (file: { readonly path: string; readonly text: string }) =>
    importsOf(file.text).map((spec) => Path.posix.normalize(Path.posix.join(Path.posix.dirname(file.path), spec)))

  it("the core never imports the edges (HTTP, CLI, MCP, eval)", () => {
    const inward = files
      .filter((file) => file.path.includes("/") && !EDGES.includes(folderOf(file.path)))
      .flatMap((file) => targetsOf(file).filter((target) => EDGES.includes(folderOf(target))).map((target) => `${file.path} -> ${target}`))
    expect(inward).toEqual([])
  })

  it("data flows one way: no two core folders import each other, directly or through others", () => {
    const edges = new Map<string, Set<string>>()
    for (const file of files) {
      const from = folderOf(file.path)
      if (!file.path.includes("/") || EDGES.includes(from)) continue
      for (const target of targetsOf(file)) {
        const to = folderOf(target)
        if (to !== from && !to.endsWith(".js")) edges.set(from, (edges.get(from) ?? new Set()).add(to))
      }
    }
    const reaches = (from: string, target: string, seen = new Set<string>()): boolean =>
      [...(edges.get(from) ?? [])].some((next) => next === target || (!seen.has(next) && (seen.add(next), reaches(next, target, seen))))
    const cycles = [...edges.keys()].filter((folder) => reaches(folder, folder)).sort()
    expect(cycles).toEqual([])
  })
})
