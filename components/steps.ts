/**
 * The registry of a host's remote steps: which files each runs, what waits for what, which see secrets. The
 * component turns these into remote.Commands; each concern's step.ts renders the step's data, host/program.ts puts
 * the program together. The drift read (drift/) is a read-only program of the same kind.
 */
import type { HostConfig } from "./config/resolve";
import { enabledDovecotServices } from "./host/contract";
import { programStdin, programText, type HostProgram } from "./host/program";

export type StepName = "packages" | "certificate" | "dovecot" | "dkim" | "ratelimit" | "postfix" | "firewall" | "bans" | "check";

export interface StepSpec extends HostProgram {
  readonly name: StepName;
  /** Its stdin holds key material or password hashes: stdin, stdout and stderr are Pulumi secrets. */
  readonly sensitive: boolean;
  readonly after: readonly StepName[];
}

/** Every step that owns something records what it owns after each run: the shared helpers, then its own observe.sh. */
const observed = (concern: string): string[] => ["host/observe.sh", `${concern}/observe.sh`];

/**
 * Order on the host. After the packages, the certificate, Dovecot, the DKIM signer, the limiters and the firewall run
 * side by side; Postfix comes after the certificate (its smtpd serves it), Dovecot (its rehearsal and its smtpd ask
 * Dovecot's socket before they offer AUTH), the signer and the limiters (their sockets must answer before our
 * services name them). The bans come last but for the check. With IMAPS or POP3S, Dovecot serves the certificate too and waits for it;
 * in acme mode the certificate waits for the firewall, whose backend the challenge's port opens in (stepOrder).
 */
export const STEPS: readonly StepSpec[] = [
  { name: "packages", sensitive: false, after: [], files: [...observed("packages"), "packages/packages.sh"] },
  // Before the certificate, which may wait for it (stepOrder): a step's resource is made after those it waits for.
  { name: "firewall", sensitive: false, after: ["packages"], files: [...observed("firewall"), "firewall/firewall.sh"] },
  {
    name: "certificate",
    sensitive: true,
    after: ["packages"],
    files: [...observed("certificate"), "host/probes.sh", "certificate/install.sh", "certificate/acme.sh", "certificate/certificate.sh"],
  },
  { name: "dovecot", sensitive: true, after: ["packages"], files: [...observed("dovecot"), "dovecot/version.sh", "dovecot/dovecot.sh"] },
  // Always present: with DKIM off it takes our signer away if an earlier config had it.
  { name: "dkim", sensitive: true, after: ["packages"], files: [...observed("dkim"), "dkim/dkim.sh"] },
  // Always present too: with the limits off it takes our limiters away.
  { name: "ratelimit", sensitive: false, after: ["packages"], files: [...observed("ratelimit"), "ratelimit/ratelimit.sh"] },
  {
    name: "postfix",
    sensitive: false,
    after: ["certificate", "dovecot", "dkim", "ratelimit"],
    files: [...observed("postfix"), "host/probes.sh", "postfix/listen.sh", "postfix/rehearsal.sh", "postfix/postfix.sh"],
  },
  // After the firewall, whose backend the bans go into, and the services whose logs the jail reads.
  { name: "bans", sensitive: false, after: ["firewall", "postfix", "dovecot"], files: [...observed("bans"), "bans/bans.sh"] },
  { name: "check", sensitive: false, after: ["postfix", "firewall"], files: ["host/probes.sh", "postfix/listen.sh", "dovecot/version.sh", "check/check.sh"] },
];

/** The steps a step waits for on this host. */
export function stepOrder(host: HostConfig, step: StepSpec): readonly StepName[] {
  if (step.name === "dovecot" && enabledDovecotServices(host.services).length > 0) return ["certificate"];
  if (step.name === "certificate" && host.certificate.mode === "acme") return [...step.after, "firewall"];
  return step.after;
}

/** The drift read observes what every step owns, with each step's own observe function. */
export const DRIFT_PROGRAM: HostProgram = {
  name: "drift",
  files: ["host/observe.sh", ...STEPS.flatMap((s) => s.files.filter((f) => f.endsWith("/observe.sh") && f !== "host/observe.sh")), "postfix/listen.sh", "drift/drift.sh"],
};

/** The host programs: the steps, and the read-only drift read. */
export type ProgramName = StepName | "drift";
export const PROGRAMS: readonly HostProgram[] = [...STEPS, DRIFT_PROGRAM];

function programOf(name: ProgramName): HostProgram {
  const program = PROGRAMS.find((p) => p.name === name);
  if (program === undefined) throw new Error(`internal error: no host program ${name}`);
  return program;
}

/** The program a step runs on the host, without its data. */
export function stepScript(program: ProgramName): string {
  return programText(programOf(program));
}

/** The whole stdin of a step: its program, then `main` reading the bundle from a quoted here-document. */
export function stepStdin(program: ProgramName, bundle: string): string {
  return programStdin(programOf(program), bundle);
}
