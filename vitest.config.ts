import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests start servers on loopback ports (port 0); files run in parallel forks.
    pool: "forks",
    // The JSON report is what .ci/run counts ("N passed, M failed").
    reporters: ["default", "json"],
    outputFile: { json: "build/test-report.json" },
  },
});
