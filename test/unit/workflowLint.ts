/**
 * Checks a GitHub Actions workflow's `run:` steps as the runner executes them. With `shell: bash` GitHub runs a step
 * as `bash --noprofile --norc -eo pipefail {0}`; with no shell at all it is `bash -e {0}`, where a pipeline's status
 * is its last command's (`a | grep x | sed … || fallback` never falls back). So every run step must have an explicit
 * bash shell, and its script, behind the options GitHub gives it, must pass shellcheck.
 */
import { spawnSync } from "node:child_process";

export interface Problem {
  workflow: string;
  job: string;
  step: string;
  message: string;
}

export const formatProblem = (p: Problem): string => `${p.workflow}: job ${p.job}, step ${p.step}: ${p.message}`;

type Mapping = Record<string, unknown>;
const isMapping = (v: unknown): v is Mapping => typeof v === "object" && v !== null && !Array.isArray(v);

/** `defaults.run.shell` of a workflow or a job. */
export function defaultShell(holder: Mapping): unknown {
  const defaults = holder.defaults;
  return isMapping(defaults) && isMapping(defaults.run) ? defaults.run.shell : undefined;
}

/**
 * The script as bash receives it: GitHub's options first, and each `${{ … }}` already substituted (the runner does it
 * before bash reads the file), here by a plain word so that shellcheck can parse the rest.
 */
export function scriptAsRun(run: string, options: string): string {
  return `set ${options}\n${run.replace(/\$\{\{[\s\S]*?\}\}/g, "GITHUB_EXPRESSION")}`;
}

interface ShellcheckComment {
  line: number;
  level: string;
  code: number;
  message: string;
}

/** shellcheck's findings on one script, each as `line N: SCxxxx (level) message`, N counted in the `run:` text. */
function shellcheck(script: string): string[] {
  const r = spawnSync("shellcheck", ["-s", "bash", "-f", "json1", "-"], { input: script, encoding: "utf8" });
  if (r.error) throw new Error(`shellcheck could not run (apt-get install shellcheck): ${r.error.message}`);
  if (r.status !== 0 && r.status !== 1) throw new Error(`shellcheck failed: ${r.stderr}`);
  const { comments } = JSON.parse(r.stdout) as { comments: ShellcheckComment[] };
  // The options line scriptAsRun puts first is not in the workflow.
  return comments.map((c) => `line ${c.line - 1}: SC${c.code} (${c.level}) ${c.message}`);
}

/** Every problem in one parsed workflow (`workflow` names it in the messages). */
export function workflowProblems(workflow: string, doc: unknown): Problem[] {
  if (!isMapping(doc) || !isMapping(doc.jobs)) return [{ workflow, job: "-", step: "-", message: "no `jobs` mapping" }];
  const problems: Problem[] = [];
  for (const [jobId, job] of Object.entries(doc.jobs)) {
    // A job that calls a reusable workflow (`uses:`) has no steps; that workflow is checked on its own.
    if (!isMapping(job) || !Array.isArray(job.steps)) continue;
    job.steps.forEach((step: unknown, i) => {
      if (!isMapping(step) || typeof step.run !== "string") return;
      // GitHub names an unnamed run step after its first line.
      const name = typeof step.name === "string" ? step.name : (step.run.split("\n")[0] ?? "");
      const at = { workflow, job: jobId, step: `${i + 1} (${name})` };
      const shell = step.shell ?? defaultShell(job) ?? defaultShell(doc);
      if (shell === undefined) {
        problems.push({ ...at, message: "no shell: GitHub runs it with `bash -e` (no pipefail); set `defaults: run: shell: bash`" });
      } else if (shell !== "bash") {
        problems.push({ ...at, message: `shell ${JSON.stringify(shell)}: only \`bash\` runs with \`-eo pipefail\`` });
        return; // another shell's script is not bash for shellcheck
      }
      const options = shell === "bash" ? "-eo pipefail" : "-e";
      for (const finding of shellcheck(scriptAsRun(step.run, options))) problems.push({ ...at, message: finding });
    });
  }
  return problems;
}
