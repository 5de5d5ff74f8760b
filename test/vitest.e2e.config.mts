import { defineConfig } from "vitest/config";
import ProgressReporter from "./progressReporter.mts";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    globalSetup: ["test/harness/globalSetup.ts"],
    // Hosts are real machines on 2 cores: one file at a time, its tests in order (they build on each other). Files
    // must not depend on each other, so they run in a new order each time: a file that relies on what another left
    // behind fails soon. The seed is printed; `--sequence.seed=N` repeats an order.
    fileParallelism: false,
    sequence: { concurrent: false, shuffle: { files: true, tests: false } },
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // A line per test as it ends and a heartbeat, also when the output is a pipe (CI).
    reporters: ["default", new ProgressReporter()],
  },
});
