import { Config, ConfigError, ConfigProvider, ConfigProviderPathPatch as PathPatch, Duration, Effect, Either, HashSet, LogLevel, Option, ParseResult, Redacted, Schema } from "effect"
import { ScopeId, SenderId } from "../Domain/Message.js"

/**
 * Every setting Engram reads, all from `ENGRAM_*` environment variables (or any ConfigProvider a
 * host app supplies). Config is read only here; services get the parsed values.
 */

/**
 * Like `Config.validate`, but the error names the variable (`Config.validate` reports the failure
 * at the enclosing path, so the message would only say "at ENGRAM").
 */
const validated = <A>(name: string, options: { readonly message: string; readonly validation: (value: A) => boolean }) =>
(config: Config.Config<A>): Config.Config<A> =>
  Config.mapOrFail(config, (value) =>
    options.validation(value) ? Either.right(value) : Either.left(ConfigError.InvalidData([name], options.message)))

const positiveInt = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    validated(name, { message: "must be a positive integer", validation: (n) => n > 0 })
  )

const duration = (name: string, fallback: Duration.DurationInput) =>
  Config.duration(name).pipe(Config.withDefault(Duration.decode(fallback)))

const timeZone = Config.string("TIME_ZONE").pipe(
  Config.withDefault("UTC"),
  validated("TIME_ZONE", {
    message: "must be an IANA time zone such as UTC or Europe/Berlin",
    validation: (tz) => {
      try {
        new Intl.DateTimeFormat("en-CA", { timeZone: tz })
        return true
      } catch {
        return false
      }
    }
  })
)

export interface LlmSettings {
  readonly baseUrl: string
  readonly apiKey: Option.Option<Redacted.Redacted>
  readonly model: string
  readonly timeout: Duration.Duration
  readonly maxConcurrency: number
  readonly maxRetries: number
}

const url = (name: string) =>
  Config.string(name).pipe(
    validated(name, {
      message: "must be an http(s) URL such as https://api.openai.com/v1",
      validation: (s) => /^https?:\/\/[^\s]+$/.test(s)
    })
  )

/** All three of base URL and model must be set together; none set means the offline mode. */
export const LlmSettingsConfig: Config.Config<Option.Option<LlmSettings>> = Config.all({
  baseUrl: Config.option(url("LLM_BASE_URL")),
  apiKey: Config.option(Config.redacted("LLM_API_KEY")),
  model: Config.option(Config.nonEmptyString("LLM_MODEL")),
  timeout: duration("LLM_TIMEOUT", "60 seconds"),
  maxConcurrency: positiveInt("LLM_MAX_CONCURRENCY", 8),
  maxRetries: Config.integer("LLM_MAX_RETRIES").pipe(
    Config.withDefault(3),
    validated("LLM_MAX_RETRIES", { message: "must be between 0 and 10", validation: (n) => n >= 0 && n <= 10 })
  )
}).pipe(
  Config.mapOrFail(({ apiKey, baseUrl, model, ...rest }) => {
    if (Option.isNone(baseUrl) && Option.isNone(model)) {
      return Option.isSome(apiKey)
        ? Either.left(ConfigError.InvalidData(["LLM_API_KEY"], "is set but ENGRAM_LLM_BASE_URL and ENGRAM_LLM_MODEL are not"))
        : Either.right(Option.none())
    }
    if (Option.isNone(baseUrl)) {
      return Either.left(ConfigError.MissingData(["LLM_BASE_URL"], "is required when ENGRAM_LLM_MODEL is set"))
    }
    if (Option.isNone(model)) {
      return Either.left(ConfigError.MissingData(["LLM_MODEL"], "is required when ENGRAM_LLM_BASE_URL is set"))
    }
    return Either.right(Option.some({ baseUrl: baseUrl.value.replace(/\/+$/, ""), model: model.value, apiKey, ...rest }))
  }),
  Config.nested("ENGRAM")
)

export interface EmbedderSettings {
  readonly baseUrl: string
  readonly apiKey: Option.Option<Redacted.Redacted>
  readonly model: string
  /** Width of the model's vectors; an answer of another width is an error. */
  readonly dimensions: number
  readonly timeout: Duration.Duration
  /** Texts per `/embeddings` request. */
  readonly batchSize: number
  readonly maxConcurrency: number
  readonly maxRetries: number
}

/**
 * An OpenAI-compatible embeddings endpoint. Base URL, model and dimensions are set together; none
 * set means no endpoint (then the local model embeds, see `EmbedderChoiceConfig`).
 */
const embedderSettings: Config.Config<Option.Option<EmbedderSettings>> = Config.all({
  baseUrl: Config.option(url("EMBED_BASE_URL")),
  apiKey: Config.option(Config.redacted("EMBED_API_KEY")),
  model: Config.option(Config.nonEmptyString("EMBED_MODEL")),
  dimensions: Config.option(
    Config.integer("EMBED_DIMENSIONS").pipe(
      Config.validate({ message: "must be an integer between 1 and 8192", validation: (n) => n >= 1 && n <= 8192 })
    )
  ),
  timeout: duration("EMBED_TIMEOUT", "30 seconds"),
  batchSize: Config.integer("EMBED_BATCH_SIZE").pipe(
    Config.withDefault(64),
    Config.validate({ message: "must be between 1 and 2048", validation: (n) => n >= 1 && n <= 2048 })
  ),
  maxConcurrency: positiveInt("EMBED_MAX_CONCURRENCY", 4),
  maxRetries: Config.integer("EMBED_MAX_RETRIES").pipe(
    Config.withDefault(3),
    Config.validate({ message: "must be between 0 and 10", validation: (n) => n >= 0 && n <= 10 })
  )
}).pipe(
  Config.mapOrFail(({ apiKey, baseUrl, dimensions, model, ...rest }) => {
    if (Option.isNone(baseUrl) && Option.isNone(model) && Option.isNone(dimensions)) {
      return Option.isSome(apiKey)
        ? Either.left(ConfigError.InvalidData(["EMBED_API_KEY"], "is set but ENGRAM_EMBED_BASE_URL, ENGRAM_EMBED_MODEL and ENGRAM_EMBED_DIMENSIONS are not"))
        : Either.right(Option.none())
    }
    const together = "is required when any of ENGRAM_EMBED_BASE_URL, ENGRAM_EMBED_MODEL, ENGRAM_EMBED_DIMENSIONS is set"
    if (Option.isNone(baseUrl)) return Either.left(ConfigError.MissingData(["EMBED_BASE_URL"], together))
    if (Option.isNone(model)) return Either.left(ConfigError.MissingData(["EMBED_MODEL"], together))
    if (Option.isNone(dimensions)) return Either.left(ConfigError.MissingData(["EMBED_DIMENSIONS"], together))
    return Either.right(Option.some({
      baseUrl: baseUrl.value.replace(/\/+$/, ""),
      model: model.value,
      dimensions: dimensions.value,
      apiKey,
      ...rest
    }))
  })
)

/** The OpenAI-compatible endpoint of ENGRAM_EMBED_*, if configured. */
export const EmbedderSettingsConfig: Config.Config<Option.Option<EmbedderSettings>> = embedderSettings.pipe(Config.nested("ENGRAM"))

export interface LocalEmbedderSettings {
  /** Bound on one call to the embedding worker (its start included); past it the worker is restarted. */
  readonly timeout: Duration.Duration
}

/** Which embedder vector and hybrid search use (ENGRAM_EMBEDDER). */
export type EmbedderChoice =
  | { readonly _tag: "Local"; readonly settings: LocalEmbedderSettings }
  | { readonly _tag: "OpenAi"; readonly settings: EmbedderSettings }
  | { readonly _tag: "Off" }

export const EMBEDDER_KINDS = ["local", "openai", "off"] as const

/**
 * ENGRAM_EMBEDDER: `local` (the default without ENGRAM_EMBED_BASE_URL: the bundled offline model),
 * `openai` (the default with it: the endpoint of ENGRAM_EMBED_*), or `off` (keyword search only,
 * no embedding jobs; the ENGRAM_EMBED_* endpoint, if set, is then ignored).
 */
export const EmbedderChoiceConfig: Config.Config<EmbedderChoice> = Config.all({
  kind: Config.option(Config.literal(...EMBEDDER_KINDS)("EMBEDDER")),
  endpoint: embedderSettings,
  timeout: duration("EMBED_TIMEOUT", "30 seconds")
}).pipe(
  Config.mapOrFail(({ endpoint, kind, timeout }): Either.Either<EmbedderChoice, ConfigError.ConfigError> => {
    const chosen = Option.getOrElse(kind, () => (Option.isSome(endpoint) ? "openai" as const : "local" as const))
    switch (chosen) {
      case "off":
        return Either.right({ _tag: "Off" })
      case "local":
        return Option.isSome(endpoint)
          ? Either.left(ConfigError.InvalidData(["EMBEDDER"], "is local but ENGRAM_EMBED_BASE_URL is set: unset ENGRAM_EMBED_* or use openai"))
          : Either.right({ _tag: "Local", settings: { timeout } })
      case "openai":
        return Option.isSome(endpoint)
          ? Either.right({ _tag: "OpenAi", settings: endpoint.value })
          : Either.left(ConfigError.MissingData(["EMBED_BASE_URL"], "is required when ENGRAM_EMBEDDER is openai (with ENGRAM_EMBED_MODEL and ENGRAM_EMBED_DIMENSIONS)"))
    }
  }),
  Config.nested("ENGRAM")
)

export interface MemorizeSettings {
  readonly maxCellTokens: number
  readonly maxCellMessages: number
  readonly timeZone: string
  readonly lockTimeout: Duration.Duration
  /**
   * Postgres: how long a node's claim on a session outlives its last renewal (renewed while it
   * works), i.e. how long other nodes wait for a session whose node died mid-add.
   */
  readonly sessionLease: Duration.Duration
  /** `None` turns the idle flush off. */
  readonly idleFlushAfter: Option.Option<Duration.Duration>
  readonly idleFlushInterval: Duration.Duration
  /**
   * When the boundary model is asked (with an LLM configured): `selective` (default) only when it
   * matters, `every_add` about the whole buffer on every add, as EverOS does.
   */
  readonly boundaryStrategy: BoundaryStrategy
  /** Selective strategy: unseen text (cl100k tokens) that is worth a question on its own. */
  readonly boundaryAskTokens: number
}

export const BOUNDARY_STRATEGIES = ["selective", "every_add"] as const
export type BoundaryStrategy = typeof BOUNDARY_STRATEGIES[number]

const boundaryStrategy = Config.literal(...BOUNDARY_STRATEGIES)("BOUNDARY_STRATEGY").pipe(Config.withDefault("selective" as const))

export const MemorizeSettingsConfig: Config.Config<MemorizeSettings> = Config.all({
  maxCellTokens: positiveInt("MAX_CELL_TOKENS", 65_536),
  maxCellMessages: positiveInt("MAX_CELL_MESSAGES", 500),
  timeZone,
  lockTimeout: duration("LOCK_TIMEOUT", "360 seconds"),
  sessionLease: duration("SESSION_LEASE", "30 seconds").pipe(
    validated("SESSION_LEASE", { message: "must be at least 100 millis", validation: (d) => Duration.toMillis(d) >= 100 })
  ),
  idleFlushAfter: Config.option(Config.duration("IDLE_FLUSH_AFTER")),
  idleFlushInterval: duration("IDLE_FLUSH_INTERVAL", "30 seconds"),
  boundaryStrategy,
  boundaryAskTokens: positiveInt("BOUNDARY_ASK_TOKENS", 400)
}).pipe(Config.nested("ENGRAM"))

/**
 * Group commit: most writes (ledger ingests, memorize commits) queued by concurrent requests that
 * share one transaction, and so one fsync.
 */
export const GroupCommitMaxConfig = positiveInt("GROUP_COMMIT_MAX", 256).pipe(Config.nested("ENGRAM"))

export const DataDirConfig = Config.string("DATA_DIR").pipe(Config.withDefault("./.engram"), Config.nested("ENGRAM"))

/** `postgres://user:pass@host:port/db` selects Postgres; unset: SQLite in the data directory. Redacted (it may hold a password). */
export const DatabaseUrlConfig = Config.option(Config.redacted("DATABASE_URL")).pipe(Config.nested("ENGRAM"))

/**
 * Postgres only: connections this node's pool may open (LISTEN takes one more of its own). 1 for
 * servers that run one session at a time, such as PGlite behind its socket server.
 */
export const DatabaseMaxConnectionsConfig = positiveInt("DATABASE_MAX_CONNECTIONS", 10).pipe(Config.nested("ENGRAM"))

export const ENV_PREFIX = "ENGRAM_"

export interface ServerSettings {
  readonly host: string
  readonly port: number
  readonly maxBodyBytes: number
  /** How long in-flight requests may take to finish on SIGINT/SIGTERM. */
  readonly shutdownTimeout: Duration.Duration
  /** Bearer token every request except /health, /openapi.json and /docs must carry; none: no auth. */
  readonly apiKey?: Option.Option<Redacted.Redacted>
  /** Origins browsers may call from (`*` for any); empty: no CORS headers at all. */
  readonly corsOrigins?: ReadonlyArray<string>
  /** Bound on receiving one request (headers plus body): slow senders are cut with 408. */
  readonly requestTimeout?: Duration.Duration
}

const apiKey = Config.redacted("API_KEY").pipe(
  validated("API_KEY", { message: "must be a non-empty token without spaces", validation: (key) => /^\S+$/.test(Redacted.value(key)) })
)

/** `https://app.example.com, http://localhost:3000` or `*`: scheme, host and optional port, no path. */
const corsOrigins = Config.string("CORS_ORIGINS").pipe(
  Config.withDefault(""),
  Config.map((text) => text.split(",").map((origin) => origin.trim()).filter((origin) => origin.length > 0)),
  validated("CORS_ORIGINS", {
    message: "must be a comma-separated list of origins like https://app.example.com (scheme, host, optional port), or *",
    validation: (origins) => origins.every((origin) => origin === "*" || /^https?:\/\/[^/\s,]+$/.test(origin))
  })
)

export const ServerSettingsConfig: Config.Config<ServerSettings> = Config.all({
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.port("PORT").pipe(Config.withDefault(8000)),
  maxBodyBytes: positiveInt("MAX_BODY_BYTES", 8 * 1024 * 1024),
  shutdownTimeout: duration("SHUTDOWN_TIMEOUT", "10 seconds"),
  apiKey: Config.option(apiKey),
  corsOrigins,
  requestTimeout: duration("REQUEST_TIMEOUT", "30 seconds")
}).pipe(Config.nested("ENGRAM"))

export interface ExtractionSettings {
  /** Jobs running at once in this process. */
  readonly concurrency: number
  /** Attempts before a job goes to the dead letters. */
  readonly maxAttempts: number
  readonly backoffBase: Duration.Duration
  readonly backoffCap: Duration.Duration
  /** How long a claimed job is ours unless renewed (its worker renews it every third of this while running); a process that dies loses it after this. */
  readonly lease: Duration.Duration
  /** How often idle workers look for work another process enqueued. */
  readonly pollInterval: Duration.Duration
  /** Upper bound of `flush`'s optional wait for extraction. */
  readonly flushWaitMax: Duration.Duration
  /**
   * With an LLM: `combined` (default) extracts a memcell's episodes, facts and foresight in one
   * call (one `memcell` job); `per_kind` asks once per kind and user (three jobs), as EverOS does.
   */
  readonly extractionCalls: ExtractionCalls
}

export const EXTRACTION_CALLS = ["combined", "per_kind"] as const
export type ExtractionCalls = typeof EXTRACTION_CALLS[number]

export const ExtractionSettingsConfig: Config.Config<ExtractionSettings> = Config.all({
  concurrency: positiveInt("EXTRACTION_CONCURRENCY", 4),
  maxAttempts: positiveInt("EXTRACTION_MAX_ATTEMPTS", 5),
  backoffBase: duration("EXTRACTION_BACKOFF_BASE", "2 seconds"),
  backoffCap: duration("EXTRACTION_BACKOFF_CAP", "5 minutes"),
  lease: duration("EXTRACTION_LEASE", "5 minutes"),
  pollInterval: duration("EXTRACTION_POLL_INTERVAL", "1 second"),
  flushWaitMax: duration("FLUSH_WAIT_MAX", "120 seconds"),
  extractionCalls: Config.literal(...EXTRACTION_CALLS)("EXTRACTION_CALLS").pipe(Config.withDefault("combined" as const))
}).pipe(Config.nested("ENGRAM"))

/** Which memory tracks beyond episodes, facts and foresight are built after each memcell. */
export interface TrackSettings {
  /** A living profile per (scope, user), updated by a `profile` job after each memcell's extraction. */
  readonly profiles: boolean
  /** Agent cases and skills from memcells with assistant/tool activity (an `agent` job per memcell). */
  readonly agentTrack: boolean
}

export const TRACK_SWITCHES = ["on", "off"] as const

const trackSwitch = (name: string) =>
  Config.literal(...TRACK_SWITCHES)(name).pipe(Config.withDefault("on" as const), Config.map((value) => value === "on"))

export const TrackSettingsConfig: Config.Config<TrackSettings> = Config.all({
  profiles: trackSwitch("PROFILES"),
  agentTrack: trackSwitch("AGENT_TRACK")
}).pipe(Config.nested("ENGRAM"))

/** A variable decoded by a domain Schema (the same rules as in requests); the error names the variable. */
const schemaValue = <A>(name: string, schema: Schema.Schema<A, string>) =>
  Config.string(name).pipe(
    Config.mapOrFail((text) =>
      Either.mapLeft(
        Schema.decodeUnknownEither(schema)(text),
        (error) => ConfigError.InvalidData([name], ParseResult.TreeFormatter.formatErrorSync(error))
      )
    )
  )

/**
 * What the MCP tools use when a client leaves a field out, so a desktop user configures their
 * identity once: the user the memory belongs to, and the tenant scope. Unset: the tools ask for
 * `user_id`, and `app_id`/`project_id` default to `default` as over HTTP.
 */
export interface McpDefaults {
  readonly userId: Option.Option<string>
  readonly appId: Option.Option<ScopeId>
  readonly projectId: Option.Option<ScopeId>
}

export const McpDefaultsConfig: Config.Config<McpDefaults> = Config.all({
  userId: Config.option(schemaValue("MCP_USER_ID", SenderId)),
  appId: Config.option(schemaValue("MCP_APP_ID", ScopeId)),
  projectId: Config.option(schemaValue("MCP_PROJECT_ID", ScopeId))
}).pipe(Config.nested("ENGRAM"))

/** Minimum level of log lines (`DEBUG`, `INFO`, `WARN`, `ERROR`, `NONE`...); default INFO. */
export const LogLevelConfig = Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info), Config.nested("ENGRAM"))

/** Bounds of `method: "agentic"` search: LLM calls (every attempt counts) and wall time of its LLM rounds. */
export interface AgenticSettings {
  readonly maxLlmCalls: number
  readonly timeout: Duration.Duration
}

export const AgenticSettingsConfig: Config.Config<AgenticSettings> = Config.all({
  maxLlmCalls: positiveInt("AGENTIC_MAX_LLM_CALLS", 4),
  timeout: duration("AGENTIC_TIMEOUT", "30 seconds")
}).pipe(Config.nested("ENGRAM"))

/** Every setting Engram reads: the known-variables list is derived from it, never written by hand. */
const ALL_SETTINGS = Config.all([
  DataDirConfig,
  DatabaseUrlConfig,
  DatabaseMaxConnectionsConfig,
  LlmSettingsConfig,
  EmbedderSettingsConfig,
  EmbedderChoiceConfig,
  MemorizeSettingsConfig,
  GroupCommitMaxConfig,
  ExtractionSettingsConfig,
  TrackSettingsConfig,
  ServerSettingsConfig,
  McpDefaultsConfig,
  AgenticSettingsConfig,
  LogLevelConfig
])

/**
 * The names (without the prefix) of every variable `ALL_SETTINGS` asks for: read once from a
 * provider that has nothing and records each lookup (defaults and options make every one asked).
 */
export const knownVariables: Effect.Effect<ReadonlySet<string>> = Effect.suspend(() => {
  const names = new Set<string>()
  const recording = ConfigProvider.fromFlat(ConfigProvider.makeFlat({
    load: (path) => {
      names.add(path.join("_").slice(ENV_PREFIX.length))
      return Effect.fail(ConfigError.MissingData([...path], "recording the names of settings"))
    },
    enumerateChildren: () => Effect.succeed(HashSet.empty()),
    patch: PathPatch.empty
  }))
  return Effect.withConfigProvider(ALL_SETTINGS, recording).pipe(Effect.ignore, Effect.as(names))
})

/**
 * Fails on any `ENGRAM_*` variable that Engram does not know: a typo or a setting from another
 * version is a startup error, never ignored.
 */
export const checkUnknownVariables = (env: Readonly<Record<string, string | undefined>>) =>
  Effect.flatMap(knownVariables, (known) => {
    const unknown = Object.keys(env)
      .filter((k) => k.startsWith(ENV_PREFIX) && !known.has(k.slice(ENV_PREFIX.length)))
      .sort()
    return unknown.length === 0
      ? Effect.void
      : Effect.fail(
        ConfigError.InvalidData(
          [],
          `unknown setting${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; known: ${
            [...known].sort().map((k) => ENV_PREFIX + k).join(", ")
          }`
        )
      )
  })
