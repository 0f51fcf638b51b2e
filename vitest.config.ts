import { defineConfig } from "vitest/config"

// Tests are bounded by what they measure (TestClock, relative bounds), never by wall-clock time;
// vitest's 5 s default only kills a test that hangs, and on a loaded 2-core machine honest tests
// exceed it. This keeps the kill-switch, far from any test's real duration.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
