import { defineConfig } from "vitest/config";
import ProgressReporter from "./progressReporter.mts";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    globalSetup: ["test/harness/globalSetup.ts"],
    // Hosts are real machines on 2 cores: one suite at a time, tests in order (they build on each other).
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // A line per test as it ends and a heartbeat, also when the output is a pipe (CI).
    reporters: ["default", new ProgressReporter()],
  },
});
