import { defineConfig } from "vitest/config"

// Two tiers: `unit` starts no external process (unit, contract suites on in-memory layers,
// deterministic simulation); `e2e` starts a real control plane and the wire ECI simulator.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/e2e/**", "test/live/**"],
          testTimeout: 30_000
        }
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 1_800_000,
          fileParallelism: false
        }
      },
      {
        test: {
          name: "eci-live",
          include: ["test/live/**/*.test.ts"],
          testTimeout: 120_000
        }
      }
    ]
  }
})
