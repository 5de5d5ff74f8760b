/** The host library's keep/put_back (host/lib.sh), run by real bash: what a step that fails puts back. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { programText } from "../../components/host/program";

/** Runs `body` as a step's apply, with the shared host library; returns what it printed. */
function run(body: string): string {
  const program = `${programText({ name: "check", files: [] })}\ntake_lock() { :; }\napply() { { ${body}; } >>"$SCRATCH/stdout"; }\nmain apply <<'EOF'\n#@ end\nEOF\n`;
  const r = spawnSync("bash", ["-s"], { input: program, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
  expect(r.stderr).toBe("");
  return r.stdout;
}

describe("keep and put_back", () => {
  it("put back files and directories as the run first found them, and take away what was not there", () => {
    const out = run(
      [
        "d=$(mktemp -d)",
        "mkdir \"$d/dir\"; echo a >\"$d/dir/f\"; echo u >\"$d/unit\"",
        "keep \"$d/dir\" \"$d/unit\" \"$d/none\"",
        "echo b >\"$d/dir/f\"; echo extra >\"$d/dir/g\"; rm \"$d/unit\"; echo new >\"$d/none\"",
        // Kept once, kept as first found: a second keep after a change does not take the change for the original.
        "keep \"$d/dir\"",
        "put_back \"$d/dir\" \"$d/unit\" \"$d/none\"",
        "cat \"$d/dir/f\" \"$d/unit\"; ls \"$d/dir\"; [ -e \"$d/none\" ] && echo present || echo absent",
        "rm -rf \"$d\"",
      ].join("; "),
    );
    expect(out).toBe("a\nu\nf\nabsent\n");
  });
});
