/**
 * The GitHub Actions workflows: every run step in bash with pipefail and shellcheck-clean (workflowLint.ts), with
 * negative controls on small inline workflows; and drift.yml's report step run as GitHub runs it.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { defaultShell, formatProblem, workflowProblems } from "./workflowLint";

const DIR = join(__dirname, "../../.github/workflows");
const files = readdirSync(DIR).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"));
const workflow = (file: string): Record<string, unknown> => parse(readFileSync(join(DIR, file), "utf8")) as Record<string, unknown>;

// drift.yml's report line before the fix: under `bash -e` the pipeline's status is sed's, so the fallback never ran.
const OLD_DRIFT_REPORT = `{
  echo "### Drift on \${{ matrix.stack }}"
  printf '%s\\n' "$OUTPUT" | grep -o 'drift on .*' | sed 's/^/- /' || echo "No drift found."
} >>"$GITHUB_STEP_SUMMARY"
`;

/** A one-job workflow around these steps, with these workflow-level defaults. */
const inline = (steps: unknown[], defaults?: unknown) => ({
  on: "push",
  ...(defaults ? { defaults } : {}),
  jobs: { report: { "runs-on": "ubuntu-latest", steps } },
});
const BASH = { run: { shell: "bash" } };

describe("workflows", () => {
  it("are all four here", () => {
    expect(files.sort()).toEqual(["deploy.yml", "drift.yml", "preview.yml", "verify-stack.yml"]);
  });

  it.each(files)("%s sets `defaults: run: shell: bash`, so that a new job or step gets pipefail too", (file) => {
    expect(defaultShell(workflow(file))).toBe("bash");
  });

  it.each(files)("%s: every run step runs in bash with pipefail and passes shellcheck", (file) => {
    expect(workflowProblems(file, workflow(file)).map(formatProblem)).toEqual([]);
  });
});

describe("workflowProblems (negative controls)", () => {
  it("flags the old drift report without a shell, naming workflow, job and step", () => {
    const doc = inline([{ name: "Report what drifted", run: OLD_DRIFT_REPORT }]);
    expect(workflowProblems("old-drift.yml", doc).map(formatProblem)).toEqual([
      "old-drift.yml: job report, step 1 (Report what drifted): no shell: GitHub runs it with `bash -e` (no pipefail); set `defaults: run: shell: bash`",
    ]);
  });

  it("accepts a bash shell from the job's defaults or the step, and flags a step that overrides it", () => {
    const doc = {
      on: "push",
      defaults: BASH,
      jobs: {
        a: { defaults: { run: { shell: "sh" } }, steps: [{ run: "true", shell: "bash" }, { run: "true" }] },
        b: { steps: [{ name: "python", run: "print(1)", shell: "python" }] },
        call: { uses: "./.github/workflows/verify-stack.yml" },
      },
    };
    expect(workflowProblems("shells.yml", doc).map(formatProblem)).toEqual([
      'shells.yml: job a, step 2 (true): shell "sh": only `bash` runs with `-eo pipefail`',
      'shells.yml: job b, step 1 (python): shell "python": only `bash` runs with `-eo pipefail`',
    ]);
  });

  it("passes shellcheck's findings on, at their line in the run text, with expressions parsed as words", () => {
    const doc = inline([{ name: "list", run: 'echo "${{ github.sha }}"\nfor f in $(ls); do echo "$f"; done\n' }], BASH);
    const problems = workflowProblems("lint.yml", doc).map(formatProblem);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^lint\.yml: job report, step 1 \(list\): line 2: SC2045 /);
  });
});

describe("drift.yml's report step, as GitHub runs it", () => {
  const job = (workflow("drift.yml").jobs as Record<string, { steps: { name?: string; run?: string }[] }>).preview;
  const run = job?.steps.find((s) => s.name === "Report what drifted")?.run ?? "";
  const dir = mkdtempSync(join(tmpdir(), "ms-workflows-"));
  let runs = 0;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The job summary the step writes, run with `bash <shellOptions>` (GitHub's command for its shell). */
  function summary(script: string, output: string, shellOptions: string[]): string {
    const file = join(dir, "step.sh");
    const summaryFile = join(dir, `summary-${++runs}`);
    writeFileSync(file, script.replace("${{ matrix.stack }}", "staging"));
    writeFileSync(summaryFile, "");
    const r = spawnSync("bash", [...shellOptions, file], { encoding: "utf8", env: { PATH: process.env.PATH, OUTPUT: output, GITHUB_STEP_SUMMARY: summaryFile } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    return readFileSync(summaryFile, "utf8");
  }
  const GITHUB_BASH = ["--noprofile", "--norc", "-eo", "pipefail"];

  it("says there is no drift exactly when no line matched, and that the preview failed when it printed nothing", () => {
    expect(run).toContain("No drift found.");
    expect(summary(run, "", GITHUB_BASH)).toBe("### Drift on staging\nThe preview printed nothing (it failed before it could read the hosts): see its log.\n");
    expect(summary(run, "Previewing update (staging)\nResources: 12 unchanged\n", GITHUB_BASH)).toBe("### Drift on staging\nNo drift found.\n");
  });

  it("lists each drifted item otherwise", () => {
    const output = "  warning: drift on a.example: postfix step: master.cf 587\n  warning: drift on b.example: firewall step: 465\nerror: ...\n";
    expect(summary(run, output, GITHUB_BASH)).toBe(
      "### Drift on staging\n- drift on a.example: postfix step: master.cf 587\n- drift on b.example: firewall step: 465\n",
    );
  });

  it("(the old line, under the unset shell's `bash -e`, printed no fallback: the bug this guards)", () => {
    expect(summary(OLD_DRIFT_REPORT, "", ["-e"])).toBe("### Drift on staging\n");
  });
});
