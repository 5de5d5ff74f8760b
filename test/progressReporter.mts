/**
 * One line per test as soon as it ends, and a heartbeat every 30 s naming what is running and for how long.
 * vitest's own reporter, when its output is a pipe (CI, `| tee`), prints only when a whole file ends, and an e2e
 * file runs for minutes; this one runs beside it.
 */
import type { Reporter, TestCase, TestModule } from "vitest/node";

const HEARTBEAT_MS = 30_000;

export default class ProgressReporter implements Reporter {
  private readonly started = Date.now();
  private current: { name: string; since: number } | undefined;
  private timer: NodeJS.Timeout | undefined;

  onTestRunStart(): void {
    this.timer = setInterval(() => {
      const what = this.current ? `${this.current.name} (${seconds(Date.now() - this.current.since)})` : "setting up";
      process.stdout.write(`  … still running, ${seconds(Date.now() - this.started)} in: ${what}\n`);
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  onTestModuleStart(module: TestModule): void {
    process.stdout.write(`▶ ${module.moduleId.replace(`${process.cwd()}/`, "")}\n`);
    this.current = { name: "its hooks", since: Date.now() };
  }

  onTestCaseReady(test: TestCase): void {
    this.current = { name: test.fullName, since: Date.now() };
  }

  onTestCaseResult(test: TestCase): void {
    const state = test.result().state;
    const mark = state === "passed" ? "✓" : state === "failed" ? "✗" : "-";
    const duration = test.diagnostic()?.duration;
    process.stdout.write(`  ${mark} ${test.fullName}${duration === undefined ? "" : ` (${seconds(duration)})`}\n`);
    this.current = { name: "hooks", since: Date.now() };
  }

  onTestRunEnd(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
