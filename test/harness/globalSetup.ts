/**
 * Before any suite: the program built (npm run build, every run: the stacks run dist/, and a build older than its
 * sources refuses to run), images built, hosts and engine state (test stacks' projects and config included) left
 * over from a killed run cleared. After: the same clean-up, so that a run leaves nothing behind but the cached images.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { buildProgram, STATE_DIR } from "./engine";
import { ensureImage } from "./sandbox";

const script = resolve(__dirname, "../sandbox/sandbox.sh");

function clearLeftovers(): void {
  execFileSync("bash", [script, "down", "--all"], { stdio: "inherit" });
  rmSync(STATE_DIR, { recursive: true, force: true });
}

export async function setup(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the e2e suite boots sandbox hosts with systemd-nspawn: run it as root");
  buildProgram();
  clearLeftovers();
  await ensureImage("bookworm");
  await ensureImage("trixie");
}

export function teardown(): void {
  clearLeftovers();
}
