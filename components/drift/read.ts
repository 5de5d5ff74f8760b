/**
 * The drift read: at program time (during `pulumi preview` and `pulumi up`, like a provider's data source), one SSH
 * session per host runs drift/drift.sh, which compares what each step owns on the host with what the step recorded
 * after its last run. Nothing on the host changes. The result only turns into a diff: a drifted step's `update`
 * command carries the next token (host/program.ts `stepCommand`), so Pulumi shows that step as changed and `up` re-runs it, which repairs
 * the host; the step records the new token, and the next read finds nothing.
 *
 * It uses the machine's OpenSSH client with the stack's own key and pinned host key (and bastion), so that it needs
 * nothing the steps do not need already.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HostConfig } from "../config/resolve";
import { renderBundle } from "../host/bundle";
import { enabledPorts } from "../host/contract";
import { stepCommand } from "../host/program";
import { stepStdin, STEPS, type StepName } from "../steps";

export interface DriftReport {
  /** The token each step recorded at its last run (0 when none). */
  readonly tokens: Readonly<Record<StepName, number>>;
  /** The items that changed since, per step (empty when none). */
  readonly drifted: Readonly<Record<StepName, readonly string[]>>;
  /** What the next `up` would take over from the operator (a master.cf entry on our port), said at preview. */
  readonly notices: readonly string[];
}

export interface SshKeys {
  privateKey: string;
  bastionKey?: string;
}

/** Pure: drift.sh's output → the report. */
export function parseDrift(stdout: string): DriftReport {
  const tokens = Object.fromEntries(STEPS.map((s) => [s.name, 0])) as Record<StepName, number>;
  const drifted = Object.fromEntries(STEPS.map((s) => [s.name, [] as string[]])) as Record<StepName, string[]>;
  const notices: string[] = [];
  for (const line of stdout.split("\n")) {
    if (line.startsWith("notice ")) notices.push(line.slice("notice ".length));
    const m = /^(token|drift) ([a-z]+) (.+)$/.exec(line);
    if (m === null) continue;
    const [, kind, step, value = ""] = m;
    if (!(step !== undefined && step in tokens)) continue;
    if (kind === "token") tokens[step as StepName] = /^\d+$/.test(value) ? Number(value) : 0;
    else drifted[step as StepName].push(value);
  }
  return { tokens, drifted, notices };
}

/** The token a step's `update` command carries: the recorded one, or the next when the step drifted (or any did, for the check). */
export function nextToken(report: DriftReport, step: StepName): number {
  const any = STEPS.some((s) => report.drifted[s.name].length > 0);
  const moved = step === "check" ? any : report.drifted[step].length > 0;
  return report.tokens[step] + (moved ? 1 : 0);
}

function sshArgs(host: HostConfig, dir: string): string[] {
  const c = host.connection;
  const pinned = (file: string, address: string, key: string | undefined) => {
    if (key === undefined) return ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"];
    writeFileSync(join(dir, file), `${address} ${key}\n`);
    return ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${join(dir, file)}`];
  };
  const common = ["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "ConnectTimeout=15", "-o", "LogLevel=ERROR"];
  const args = [...common, "-i", join(dir, "key"), "-p", String(c.port), ...pinned("known_hosts", c.port === 22 ? c.host : `[${c.host}]:${c.port}`, c.hostKey)];
  if (c.bastion) {
    const b = c.bastion;
    const jump = ["ssh", ...common, "-i", join(dir, "bastion_key"), "-p", String(b.port), ...pinned("bastion_known_hosts", b.port === 22 ? b.host : `[${b.host}]:${b.port}`, b.hostKey), "-W", "%h:%p", `${b.user}@${b.host}`];
    args.push("-o", `ProxyCommand=${jump.join(" ")}`);
  }
  return [...args, `${c.user}@${c.host}`];
}

/** Runs the drift read on the host. The keys go to files only this process can read, removed right after. */
export function readDrift(host: HostConfig, keys: SshKeys): Promise<DriftReport> {
  const dir = mkdtempSync(join(tmpdir(), "mail-submission-drift-"));
  writeFileSync(join(dir, "key"), keys.privateKey.endsWith("\n") ? keys.privateKey : `${keys.privateKey}\n`, { mode: 0o600 });
  if (keys.bastionKey !== undefined) writeFileSync(join(dir, "bastion_key"), keys.bastionKey.endsWith("\n") ? keys.bastionKey : `${keys.bastionKey}\n`, { mode: 0o600 });
  const program = stepStdin("drift", renderBundle({ host: host.name, steps: STEPS.map((s) => s.name), ports: enabledPorts(host.services, false) }));
  return new Promise<DriftReport>((resolve, reject) => {
    const child = spawn("ssh", [...sshArgs(host, dir), stepCommand("apply", host.connection.user !== "root")], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (e) => reject(new Error(`drift read of ${host.name}: cannot run ssh (${e.message})`)));
    child.on("close", (code) => {
      if (code === 0) resolve(parseDrift(stdout));
      else reject(new Error(`drift read of ${host.name} (${host.connection.host}) failed: ${stderr.trim().split("\n").slice(0, 5).join(" / ") || `ssh exited ${code}`}`));
    });
    child.stdin.end(program);
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}
