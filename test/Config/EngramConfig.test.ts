import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Option } from "effect"
import {
  checkUnknownVariables,
  ExtractionSettingsConfig,
  knownVariables,
  LlmSettingsConfig,
  McpDefaultsConfig,
  MemorizeSettingsConfig,
  ServerSettingsConfig
} from "../../src/Config/EngramConfig.js"

const fromEnv = (env: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_" })

const load = <A>(config: Effect.Effect<A, unknown>, env: Record<string, string>) =>
  Effect.either(Effect.withConfigProvider(config, fromEnv(env)))

describe("configuration", () => {
  it.effect("no LLM variables means the offline mode; defaults apply", () =>
    Effect.gen(function*() {
      expect(yield* load(LlmSettingsConfig, {})).toEqual(Either.right(Option.none()))
      const memorize = yield* Effect.withConfigProvider(MemorizeSettingsConfig, fromEnv({}))
      expect(memorize).toMatchObject({ maxCellTokens: 65_536, maxCellMessages: 500, timeZone: "UTC" })
      expect(Option.isNone(memorize.idleFlushAfter)).toBe(true)
      expect(yield* Effect.withConfigProvider(ServerSettingsConfig, fromEnv({}))).toMatchObject({ host: "127.0.0.1", port: 8000 })
    }))

  it.effect("the boundary strategy and extraction calls: selective and combined by default, EverOS's way on request", () =>
    Effect.gen(function*() {
      expect(yield* Effect.withConfigProvider(MemorizeSettingsConfig, fromEnv({}))).toMatchObject({
        boundaryStrategy: "selective",
        boundaryAskTokens: 400
      })
      expect(yield* Effect.withConfigProvider(ExtractionSettingsConfig, fromEnv({}))).toMatchObject({ extractionCalls: "combined" })
      expect(
        yield* Effect.withConfigProvider(MemorizeSettingsConfig, fromEnv({ ENGRAM_BOUNDARY_STRATEGY: "every_add", ENGRAM_BOUNDARY_ASK_TOKENS: "50" }))
      ).toMatchObject({ boundaryStrategy: "every_add", boundaryAskTokens: 50 })
      expect(yield* Effect.withConfigProvider(ExtractionSettingsConfig, fromEnv({ ENGRAM_EXTRACTION_CALLS: "per_kind" }))).toMatchObject({
        extractionCalls: "per_kind"
      })
      for (const env of [{ ENGRAM_BOUNDARY_STRATEGY: "sometimes" }, { ENGRAM_BOUNDARY_ASK_TOKENS: "0" }]) {
        const result = yield* load(MemorizeSettingsConfig, env)
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) expect(String(result.left)).toContain(Object.keys(env)[0]!.slice("ENGRAM_".length))
      }
      expect(Either.isLeft(yield* load(ExtractionSettingsConfig, { ENGRAM_EXTRACTION_CALLS: "some" }))).toBe(true)
      expect(yield* Effect.either(checkUnknownVariables({ ENGRAM_BOUNDARY_STRATEGY: "x", ENGRAM_BOUNDARY_ASK_TOKENS: "1", ENGRAM_EXTRACTION_CALLS: "x" })))
        .toEqual(Either.right(undefined))
    }))

  it.effect("half an LLM configuration is an error, never silently offline", () =>
    Effect.gen(function*() {
      expect(Either.isLeft(yield* load(LlmSettingsConfig, { ENGRAM_LLM_MODEL: "gpt-4o-mini" }))).toBe(true)
      expect(Either.isLeft(yield* load(LlmSettingsConfig, { ENGRAM_LLM_BASE_URL: "http://localhost:11434/v1" }))).toBe(true)
      expect(Either.isLeft(yield* load(LlmSettingsConfig, { ENGRAM_LLM_API_KEY: "sk-x" }))).toBe(true)
      const full = yield* load(LlmSettingsConfig, {
        ENGRAM_LLM_BASE_URL: "http://localhost:11434/v1/",
        ENGRAM_LLM_MODEL: "llama3"
      })
      expect(Either.getOrThrow(full).pipe(Option.map((s) => s.baseUrl))).toEqual(Option.some("http://localhost:11434/v1"))
    }))

  it.effect("malformed values are errors", () =>
    Effect.gen(function*() {
      for (
        const env of [
          { ENGRAM_MAX_CELL_TOKENS: "lots" },
          { ENGRAM_MAX_CELL_MESSAGES: "0" },
          { ENGRAM_TIME_ZONE: "Mars/Olympus" },
          { ENGRAM_LOCK_TIMEOUT: "soon" }
        ]
      ) expect(Either.isLeft(yield* load(MemorizeSettingsConfig, env))).toBe(true)
      expect(Either.isLeft(yield* load(ServerSettingsConfig, { ENGRAM_PORT: "99999" }))).toBe(true)
      expect(Either.isLeft(yield* load(LlmSettingsConfig, { ENGRAM_LLM_BASE_URL: "localhost", ENGRAM_LLM_MODEL: "m" }))).toBe(true)
    }))

  it.effect("an unknown ENGRAM_ variable is refused by name", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(checkUnknownVariables({ ENGRAM_DATADIR: "/tmp", PATH: "/bin" }))
      expect(String(error)).toContain("ENGRAM_DATADIR")
      yield* checkUnknownVariables({ ENGRAM_DATA_DIR: "/tmp", HOME: "/root" })
    }))

  it.effect("the known variables are the ones the settings read", () =>
    Effect.gen(function*() {
      const known = yield* knownVariables
      for (const name of ["DATA_DIR", "LLM_API_KEY", "EMBED_DIMENSIONS", "TIME_ZONE", "EXTRACTION_LEASE", "REQUEST_TIMEOUT", "LOG_LEVEL"]) {
        expect(known.has(name)).toBe(true)
      }
      expect(known.has("LLM")).toBe(false)
    }))
})

describe("MCP defaults", () => {
  it.effect("unset: no defaults; set: decoded by the request Schemas; a bad value names its variable", () =>
    Effect.gen(function*() {
      expect(yield* load(McpDefaultsConfig, {})).toEqual(Either.right({ userId: Option.none(), appId: Option.none(), projectId: Option.none() }))
      expect(yield* load(McpDefaultsConfig, { ENGRAM_MCP_USER_ID: "Alice@home", ENGRAM_MCP_APP_ID: "notes" })).toEqual(
        Either.right({ userId: Option.some("Alice@home"), appId: Option.some("notes"), projectId: Option.none() })
      )
      const badApp = yield* load(McpDefaultsConfig, { ENGRAM_MCP_APP_ID: "Notes" })
      expect(Either.isLeft(badApp) && String(badApp.left)).toContain("ENGRAM.MCP_APP_ID")
      const badUser = yield* load(McpDefaultsConfig, { ENGRAM_MCP_USER_ID: "no spaces" })
      expect(Either.isLeft(badUser) && String(badUser.left)).toContain("MCP_USER_ID")
      yield* checkUnknownVariables({ ENGRAM_MCP_USER_ID: "a", ENGRAM_MCP_APP_ID: "b", ENGRAM_MCP_PROJECT_ID: "c" })
    }))
})
