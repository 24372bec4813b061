import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests start servers on loopback ports (port 0); files run in parallel forks.
    pool: "forks",
    // Installs the Debian programs some tests run, where root and apt allow (see the file).
    globalSetup: ["test/support/global-setup.ts"],
    // The JSON report is what .ci/run counts ("N passed, M failed").
    reporters: ["default", "json"],
    outputFile: { json: "build/test-report.json" },
  },
});
