/** Images are built once, before any suite; hosts left over from a killed run are cleared before and after. */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { ensureImage } from "./sandbox";

const script = resolve(__dirname, "../../sandbox/sandbox.sh");

export async function setup(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the e2e suite boots sandbox hosts with systemd-nspawn: run it as root");
  execFileSync("bash", [script, "down", "--all"], { stdio: "inherit" });
  await ensureImage("bookworm");
  await ensureImage("trixie");
}

export function teardown(): void {
  execFileSync("bash", [script, "down", "--all"], { stdio: "inherit" });
}
