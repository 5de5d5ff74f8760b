/** mail-submission-verify as a pipeline runs it: a child process, the password in an environment variable. */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import type { Row } from "../../verify/types";

const BIN = resolve(__dirname, "../../verify/bin.js");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  rows: Row[];
}

/** Runs the CLI; with --json the rows are parsed. */
export function verify(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 180_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
      const rows = args.includes("--json") && stdout.trim().startsWith("{") ? (JSON.parse(stdout) as { results: Row[] }).results : [];
      done({ code, stdout, stderr, rows });
    });
  });
}

export const status = (run: Run, port: number, check: string) => run.rows.find((r) => r.port === port && r.check === check);

/** The findings (everything but PASS), printed so that the suite's log shows what each host looked like. */
export function findings(run: Run, what: string): void {
  console.log(`${what}: exit ${run.code}\n${run.rows.filter((r) => r.status !== "PASS").map((r) => `  ${r.port} ${r.check} ${r.status} ${r.detail}`).join("\n")}`);
}

export const failures = (run: Run) => run.rows.filter((r) => r.status === "FAIL").map((r) => `${r.port} ${r.check}`).sort();
