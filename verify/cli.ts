/**
 * mail-submission-verify: arguments → targets → checks → report. Exit 0 when no check failed, 1 when one did,
 * 2 when it could not start (usage, unreadable files, no stack outputs).
 */
import { parsePlan, USAGE, UsageError } from "./args";
import { renderJson, renderTable, exitCode } from "./report";
import { resolvePlan } from "./resolve";
import { verifyAll } from "./run";

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    const plan = parsePlan(argv);
    if (plan.help) {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    const { targets, options } = await resolvePlan(plan, io.env);
    const rows = await verifyAll(targets, options);
    io.stdout(plan.json ? renderJson(rows) : renderTable(rows));
    return exitCode(rows);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`mail-submission-verify: ${e.message}\n(--help for usage)\n`);
      return 2;
    }
    throw e;
  }
}

/** Entry point of verify/bin.js: wires main() to the process. */
export function run(): void {
  const io: Io = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), env: process.env };
  main(process.argv.slice(2), io).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      // A bug, not a finding; exit 1 so that a pipeline stops rather than taking a crash for "all good".
      process.stderr.write(`mail-submission-verify: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
