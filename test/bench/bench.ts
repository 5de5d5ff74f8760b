/**
 * `npm run bench`: `pulumi up` of this project against the Ansible peer, side by side in one run, on fresh sandbox
 * hosts of the same image (Debian 12, nftables with Debian's stock ruleset). For 1, 4 and 16 hosts: the converge
 * of fresh hosts, the no-op run after it (ours also as `preview`), the SSH logins per no-op, a one-setting change
 * (a new user), and for ours a per-step breakdown from the engine's events. The floor is the bare `apt-get install`
 * of the same packages on the same image; the CPU floor is that install's CPU time times the hosts, over the cores.
 *
 *   npm run bench                 1, 4 and 16 hosts, 3 repetitions of each no-op
 *   npm run bench -- --quick      1 host, 1 repetition (CI)
 *
 * Prints a Markdown table and writes bench-results/<date>/ (results.json, results.tsv, table.md, chart.svg).
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { buildProgram, EngineStack, PROJECT_ROOT, stepSpans } from "../harness/engine";
import { makePki } from "../harness/pki";
import { hostRoot } from "../harness/probes";
import { downHost, ensureImage, listHosts, upHost, type SandboxHost } from "../harness/sandbox";
import { hostEntry, type User } from "../harness/scenario";
import { median, stats, timed } from "./measure";
import { fqdn, Peer } from "./peer";
import { renderChart, renderTable, renderTsv, type Results, type ScaleResult } from "./report";

const PASSWORD = "bench-Pw-4c1a9e";
const BOB_PASSWORD = "bench-Bob-77d2";
const CORES = cpus().length;

let phase = { what: "starting", since: Date.now() };

/** One line per phase, and a heartbeat every 30 s while it runs (a 16-host converge takes minutes). */
function log(message: string): void {
  phase = { what: message, since: Date.now() };
  process.stderr.write(`bench: ${message}\n`);
}
setInterval(() => process.stderr.write(`bench: … ${phase.what}: ${((Date.now() - phase.since) / 1000).toFixed(0)} s\n`), 30_000).unref();

async function bootAll(names: string[]): Promise<SandboxHost[]> {
  const hosts: SandboxHost[] = [];
  // Four at a time: each boot is a few seconds of systemd on 2 cores.
  for (let i = 0; i < names.length; i += 4) {
    hosts.push(...(await Promise.all(names.slice(i, i + 4).map((n) => upHost(n, { release: "bookworm", firewall: "nftables" })))));
  }
  return hosts;
}

/**
 * The bare install of what our packages step installs on this image (openssl and ca-certificates are there
 * already), on a fresh host: the time Debian's own scripts take.
 */
async function measureFloor(): Promise<{ seconds: number; cpu: number }> {
  const [host] = await bootAll(["bench-floor"]);
  if (!host) throw new Error("no floor host");
  try {
    const r = await timed([host], () =>
    hostRoot(host, "printf 'postfix postfix/main_mailer_type select Internet Site\\npostfix postfix/mailname string x.test\\n' | debconf-set-selections && " +
      "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix dovecot-core >/dev/null 2>&1"),
    );
    return { seconds: r.seconds, cpu: r.hostCpu };
  } finally {
    await downHost(host.name);
  }
}

/** Seconds per step type (the median over the hosts), from the engine's events. */
function stepTimer(): { onEvent: (e: EngineEvent) => void; breakdown: () => Record<string, number> } {
  const timer = stepSpans();
  return {
    onEvent: timer.onEvent,
    breakdown() {
      const byStep: Record<string, number[]> = {};
      for (const { name, seconds } of timer.spans()) (byStep[name.slice(name.lastIndexOf("-") + 1)] ??= []).push(seconds);
      return Object.fromEntries(Object.entries(byStep).map(([step, xs]) => [step, stats(xs).median]));
    },
  };
}

/**
 * The fixed costs inside every no-op `up`, each the median of three runs: the CLI starting, Node.js starting, and
 * the program's modules loading (the Pulumi SDK, the two providers' SDKs and our compiled code, through Node's
 * compile cache as Pulumi.yaml has it). What the no-op takes beyond them is the engine's: the language host and
 * both provider plugins starting, the state read and written, and each resource diffed.
 */
function noopParts(): Results["noopParts"] {
  const seconds = (cmd: string, args: string[]): number => {
    const xs = [0, 1, 2].map(() => {
      const start = Date.now();
      execFileSync(cmd, args, { cwd: PROJECT_ROOT, stdio: "ignore" });
      return (Date.now() - start) / 1000;
    });
    return median(xs);
  };
  const load = ["@pulumi/pulumi", "@pulumi/command", "@pulumi/tls", "./dist/components/mailSubmission.js", "./dist/components/config/parse.js"].map((m) => `require(${JSON.stringify(m)});`).join("");
  const nodeStart = seconds("node", ["-e", "0"]);
  // As Pulumi.yaml's nodeargs load it: with the compile cache (the median of three is a warm one).
  const programLoad = seconds("node", ["--require", "./dist/components/compileCache.js", "-e", load]) - nodeStart;
  return { cliStart: seconds("pulumi", ["version"]), nodeStart, programLoad };
}

async function ours(hosts: SandboxHost[], reps: number, name: string): Promise<ScaleResult["ours"]> {
  const pki = makePki("bench CA");
  const certified = hosts.map((host) => ({ host, cert: pki.issue(fqdn(host)) }));
  const alice = { name: "alice", password: PASSWORD, senders: ["alice@sandbox.test"] };
  const configure = async (users: User[]) => {
    const entries = certified.map(({ host, cert }, i) => hostEntry(host, { certificate: { mode: "provided", ...cert }, users, extra: { hostname: fqdn(host) } }, i));
    return { hosts: entries.map((e) => e.host), secrets: entries.flatMap((e) => e.secrets) };
  };
  const first = await configure([alice]);
  const stack = await EngineStack.create(name, { hosts: first.hosts }, first.secrets);
  try {
    const timer = stepTimer();
    log(`ours: converge of ${hosts.length} host(s)`);
    const converge = await timed(hosts, () => stack.up({ onEvent: timer.onEvent }));
    // The no-ops and the change as a user or a CI job runs them: the pulumi CLI itself (the Automation API would
    // add a `pulumi stack select` to each).
    const cli = async (args: string[]) => {
      const r = await stack.cli(args);
      if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed:\n${r.output.slice(-3000)}`);
      return r.output;
    };
    const noop = [];
    const preview = [];
    for (let i = 0; i < reps; i++) {
      log(`ours: no-op up ${i + 1}/${reps}, preview ${i + 1}/${reps}`);
      const up = await timed(hosts, () => cli(["up", "--yes", "--skip-preview"]));
      if (!/^\s+\d+ unchanged$/m.test(up.value) || /^\s+[~+-] \d+ /m.test(up.value)) throw new Error(`a no-op up changed something:\n${up.value}`);
      noop.push(up);
      preview.push(await timed(hosts, () => cli(["preview"])));
    }
    log("ours: one-setting change (a new user)");
    const withBob = await configure([alice, { name: "bob", password: BOB_PASSWORD, senders: ["bob@sandbox.test"] }]);
    await stack.configure({ hosts: withBob.hosts }, withBob.secrets);
    const change = await timed(hosts, () => cli(["up", "--yes", "--skip-preview"]));
    const ran = [...new Set([...change.value.matchAll(/-([a-z]+) updated/g)].map((m) => m[1] ?? ""))].sort();
    return {
      converge: converge.seconds,
      convergeHostCpu: converge.hostCpu,
      steps: timer.breakdown(),
      noopUp: noop.map((r) => r.seconds),
      noopPreview: preview.map((r) => r.seconds),
      noopLogins: noop.map((r) => r.logins.reduce((a, b) => a + b, 0) / hosts.length),
      change: change.seconds,
      changeSteps: ran,
    };
  } finally {
    // The hosts are thrown away next: a destroy (packages removed from each) would only cost time.
    await stack.forget();
  }
}

async function peer(hosts: SandboxHost[], reps: number): Promise<ScaleResult["peer"]> {
  const p = new Peer(hosts, PASSWORD);
  log(`peer: converge of ${hosts.length} host(s)`);
  const converge = await timed(hosts, () => p.run());
  if (!converge.value.ok) throw new Error(`the peer's converge failed:\n${converge.value.output.slice(-3000)}`);
  const noop = [];
  for (let i = 0; i < reps; i++) {
    log(`peer: no-op run ${i + 1}/${reps}`);
    const r = await timed(hosts, () => p.run());
    if (!r.value.ok || r.value.changed !== 0) throw new Error(`the peer's no-op run was not changed=0:\n${r.value.output.slice(-2000)}`);
    noop.push(r);
  }
  log("peer: one-setting change (a new user)");
  p.addUser("bob", "BOB_PASSWORD");
  const change = await timed(hosts, () => p.run({ BOB_PASSWORD }));
  return {
    converge: converge.seconds,
    convergeHostCpu: converge.hostCpu,
    noop: noop.map((r) => r.seconds),
    noopLogins: noop.map((r) => r.logins.reduce((a, b) => a + b, 0) / hosts.length),
    change: change.seconds,
    changeChanged: change.value.changed,
  };
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const scales = quick ? [1] : [1, 4, 16];
  const reps = quick ? 1 : 3;
  const started = new Date();
  // The stacks run the compiled program: a build older than its sources would measure old code, or refuse to run.
  buildProgram();
  await ensureImage("bookworm");
  // Hosts of a bench that was killed would hold the names and addresses this one needs.
  for (const h of await listHosts()) if (h.name.startsWith("bench-")) await downHost(h.name);
  log("floor: the bare apt-get install on a fresh host");
  const floor = await measureFloor();
  log("the fixed costs of a no-op up: CLI start, Node.js start, program load");
  const results: Results = { date: started.toISOString(), machine: `${cpus()[0]?.model ?? "?"}, ${CORES} cores`, commit: process.env.BENCH_COMMIT ?? "", floor, noopParts: noopParts(), scales: [] };
  for (const n of scales) {
    log(`${n} host(s): booting ${2 * n} fresh hosts`);
    try {
      const ourHosts = await bootAll(Array.from({ length: n }, (_, i) => `bench-o${i + 1}`));
      const peerHosts = await bootAll(Array.from({ length: n }, (_, i) => `bench-a${i + 1}`));
      const o = await ours(ourHosts, reps, `bench-${n}`);
      const p = await peer(peerHosts, reps);
      results.scales.push({ hosts: n, cpuFloor: (n * floor.cpu) / CORES, ours: o, peer: p });
    } finally {
      for (const h of await listHosts()) if (h.name.startsWith("bench-")) await downHost(h.name);
    }
  }
  const out = resolve(__dirname, "../../bench-results", started.toISOString().replace(/[:.]/g, "-"));
  mkdirSync(out, { recursive: true });
  const table = renderTable(results);
  writeFileSync(join(out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(out, "results.tsv"), renderTsv(results));
  writeFileSync(join(out, "table.md"), table);
  writeFileSync(join(out, "chart.svg"), renderChart(results));
  process.stdout.write(`${table}\nraw figures and chart: ${out}\n`);
  const logins = results.scales.flatMap((s) => s.ours.noopLogins);
  if (logins.some((l) => l !== 0)) {
    log(`a no-op pulumi up made SSH logins (${logins.join(", ")} per host): it must make none`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  log(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
