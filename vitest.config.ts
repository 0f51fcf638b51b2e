import { configDefaults, defineConfig } from "vitest/config"

/**
 * Tests must pass on a loaded 2-core machine: a test's own bounds are relative to what it
 * measures (or use TestClock), so the runner's timeouts only catch hangs, not slowness.
 * Vitest's 5 s default failed tests that were merely slow while other work shared the CPU.
 */
export default defineConfig({
  test: {
    // scratchpad/ holds experiments (sometimes copies of tests); only test/ is the suite.
    exclude: [...configDefaults.exclude, "scratchpad/**"],
    testTimeout: 300_000,
    // A throwaway PostgreSQL cluster for the Postgres engine's tests (skipped, saying why, without binaries).
    globalSetup: ["test/globalSetup.ts"],
    hookTimeout: 300_000
  }
})
