import { defineConfig } from "vitest/config";
import ProgressReporter from "./progressReporter.mts";

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    // Mock-based Pulumi tests register many resources; the default 5 s is tight on 2 cores.
    testTimeout: 30_000,
    reporters: ["default", new ProgressReporter()],
  },
});
