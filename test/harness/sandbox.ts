// Typed wrapper around test/sandbox/sandbox.sh: throwaway Debian hosts (systemd-nspawn, offline, reachable
// from this machine on 10.231.0.0/24) for the e2e tests. Needs root, like the script it calls.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

const SANDBOX_SCRIPT = path.resolve(__dirname, "../sandbox/sandbox.sh");

export type Release = "bookworm" | "trixie";
export type SandboxUser = "root" | "deploy";
/** The operator firewall the host starts with, before the product touches it. */
export type SandboxFirewall = "none" | "nftables" | "nftables-drop" | "ufw" | "firewalld";

export interface UpOptions {
  /** @default "bookworm" */
  release?: Release;
  /** Login user; "deploy" has NOPASSWD sudo. root always accepts the same key. @default "root" */
  user?: SandboxUser;
  /** @default "none" */
  firewall?: SandboxFirewall;
  /** Kill the script after this long. The first `up` of a release may build its image (~2-3 min). @default 900_000 */
  timeoutMs?: number;
}

/** Everything an SSH client needs to reach a host and pin its key. */
export interface SshTarget {
  name: string;
  address: string;
  port: number;
  user: string;
  /** ed25519 private key (OpenSSH format) authorized for `user`. */
  privateKeyPath: string;
  /** The host's public key, "ssh-ed25519 AAAA..." without comment. */
  hostKey: string;
}

/** What `sandbox.sh up` prints; its key is authorized for `user` and for root. */
export interface SandboxHost extends SshTarget {
  release: Release;
  user: SandboxUser;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Big enough for package-install logs; execFile's default (1 MiB) kills the child when exceeded.
const MAX_BUFFER = 64 * 1024 * 1024;

function parseHost(json: string): SandboxHost {
  const host = JSON.parse(json) as Partial<SandboxHost>;
  for (const key of ["name", "release", "address", "user", "privateKeyPath", "hostKey"] as const) {
    if (typeof host[key] !== "string" || host[key] === "") {
      throw new Error(`sandbox.sh printed a host without "${key}": ${json}`);
    }
  }
  if (typeof host.port !== "number") throw new Error(`sandbox.sh printed a host without "port": ${json}`);
  return host as SandboxHost;
}

async function sandbox(args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run("bash", [SANDBOX_SCRIPT, ...args], { timeout: timeoutMs, maxBuffer: MAX_BUFFER });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`sandbox.sh ${args.join(" ")} failed: ${e.message}\n${e.stderr ?? ""}`);
  }
}

/** Build (or reuse) the cached image; call from a globalSetup so the first test does not pay for it. */
export async function ensureImage(release: Release, timeoutMs = 900_000): Promise<void> {
  await sandbox(["image", release], timeoutMs);
}

/** Boot a host and wait until SSH answers and systemd reports running/degraded. */
export async function upHost(name: string, opts: UpOptions = {}): Promise<SandboxHost> {
  const args = ["up", name, "--release", opts.release ?? "bookworm", "--user", opts.user ?? "root"];
  args.push("--firewall", opts.firewall ?? "none");
  const stdout = await sandbox(args, opts.timeoutMs ?? 900_000);
  const line = stdout.trim().split("\n").pop() ?? "";
  return parseHost(line);
}

/** Shut the host down and remove everything it used (never the cached image). Idempotent. */
export async function downHost(name: string): Promise<void> {
  await sandbox(["down", name], 60_000);
}

/** The hosts currently running (`sandbox.sh list`). */
export async function listHosts(): Promise<SandboxHost[]> {
  const stdout = await sandbox(["list"], 30_000);
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(parseHost);
}

/**
 * Run `cmd` (a shell command line, interpreted by the remote login shell) on the host as `user`
 * (default: the host's own user) with the system ssh client. The host key is pinned from `host.hostKey`;
 * ~/.ssh/config and agents are ignored. Never throws on a non-zero exit: look at `code`.
 */
export async function sshExec(
  host: SshTarget,
  cmd: string,
  opts: { user?: string; timeoutMs?: number; input?: string } = {},
): Promise<ExecResult> {
  const dir = await mkdtemp(path.join(tmpdir(), "ms-sandbox-ssh-"));
  try {
    const knownHosts = path.join(dir, "known_hosts");
    await writeFile(knownHosts, `${host.address} ${host.hostKey}\n`, { mode: 0o600 });
    const args = [
      ...["-F", "/dev/null", "-i", host.privateKeyPath, "-p", String(host.port)],
      ...["-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes"],
      ...["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`],
      ...["-o", "GlobalKnownHostsFile=/dev/null", "-o", "HostKeyAlgorithms=ssh-ed25519"],
      ...["-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"],
      `${opts.user ?? host.user}@${host.address}`,
      cmd,
    ];
    return await execCollect("ssh", args, opts.timeoutMs ?? 300_000, opts.input);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// execFile, but a non-zero exit is a result, not an error (a test asserts on it).
function execCollect(file: string, args: string[], timeoutMs: number, input?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: timeoutMs, maxBuffer: MAX_BUFFER }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") {
        // Spawn failure, timeout or signal: not an answer from the remote command.
        reject(new Error(`${file} ${args.slice(-2).join(" ")}: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
    child.stdin?.end(input ?? "");
  });
}
