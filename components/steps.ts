/**
 * The remote steps of one host, as pure data: which script runs, what it reads on stdin, what it waits for.
 * The component turns these into remote.Commands.
 *
 * Each step's stdin is a whole bash program: the step's name, the shared helpers, the step's script, then a call of
 * `main` fed by a quoted here-document holding the step's data. The command line is only `bash -s apply` (or
 * `remove`): @pulumi/command repeats the command line in every error message, and keeps the create-time stdin in
 * the state for the delete, so the same program, of the same version, also removes what it applied.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { HostConfig } from "./schema";
import { BUNDLE_DELIMITER, renderBundle } from "./render/bundle";
import { renderDovecot, renderPasswdFile } from "./render/dovecot";
import { renderFirewalldRules, renderNftRules, renderOpenings, renderUfwRules } from "./render/firewall";
import { dovecotGuarantees, postfixGuarantees } from "./render/guarantees";
import { enabledServices, ports } from "./render/paths";
import { postfixBundle, renderPostfix } from "./render/postfix";

export type StepName = "packages" | "certificate" | "dovecot" | "postfix" | "firewall" | "check";

export interface StepSpec {
  readonly name: StepName;
  /** Its stdin holds key material or password hashes: stdin, stdout and stderr are Pulumi secrets. */
  readonly sensitive: boolean;
  readonly after: readonly StepName[];
  /** Helper files the step's script needs, after lib.sh. */
  readonly libs: readonly string[];
}

/**
 * Order on the host. After the packages, the certificate, Dovecot and the firewall run side by side; Postfix comes
 * after the certificate (its smtpd serves it) and Dovecot (its rehearsal and its smtpd ask Dovecot's socket before
 * they offer AUTH). With IMAPS, Dovecot serves the certificate too and waits for it (stepOrder).
 */
export const STEPS: readonly StepSpec[] = [
  { name: "packages", sensitive: false, after: [], libs: ["observe.sh"] },
  { name: "certificate", sensitive: true, after: ["packages"], libs: ["observe.sh"] },
  { name: "dovecot", sensitive: true, after: ["packages"], libs: ["observe.sh"] },
  { name: "postfix", sensitive: false, after: ["certificate", "dovecot"], libs: ["observe.sh", "smtp.sh", "rehearsal.sh"] },
  { name: "firewall", sensitive: false, after: ["packages"], libs: ["observe.sh"] },
  { name: "check", sensitive: false, after: ["postfix", "firewall"], libs: ["smtp.sh"] },
];

/** The steps a step waits for on this host. */
export function stepOrder(host: HostConfig, step: StepSpec): readonly StepName[] {
  return step.name === "dovecot" && host.services.imaps ? ["certificate"] : step.after;
}

/** The host programs: the steps, and the read-only drift read (drift.ts). */
export type ProgramName = StepName | "drift";
const PROGRAM_LIBS: Record<ProgramName, readonly string[]> = {
  ...(Object.fromEntries(STEPS.map((s) => [s.name, s.libs])) as Record<StepName, readonly string[]>),
  drift: ["observe.sh"],
};

const SCRIPT_DIR = join(__dirname, "scripts");
const readScript = (file: string): string => readFileSync(join(SCRIPT_DIR, file), "utf8");

/** The program a step runs on the host, without its data: name, lib.sh, the helpers, the step's own script. */
export function stepScript(program: ProgramName): string {
  return [`STEP=${program}`, ...["lib.sh", ...PROGRAM_LIBS[program], `${program}.sh`].map(readScript)].join("\n");
}

/** The whole stdin of a step: its program, then `main` reading the bundle from a quoted here-document. */
export function stepStdin(program: ProgramName, bundle: string): string {
  return `${stepScript(program)}\nmain "$@" <<'${BUNDLE_DELIMITER}'\n${bundle}${BUNDLE_DELIMITER}\n`;
}

/**
 * The command line: short, free of secrets; a non-root user runs it through `sudo -n`, which never waits for a
 * password. An apply carries the run token that drift repair counts up (drift.ts).
 */
export function stepCommand(action: "apply" | "remove", sudo: boolean, token?: number): string {
  return `${sudo ? "sudo -n " : ""}bash -s ${action}${token === undefined ? "" : ` ${token}`}`;
}

export function packagesBundle(host: HostConfig): string {
  const wanted = ["postfix", "dovecot-core", "openssl", "ca-certificates"];
  if (host.services.imaps) wanted.push("dovecot-imapd");
  if (host.firewall.backend !== "auto" && host.firewall.backend !== "none") wanted.push(host.firewall.backend);
  return renderBundle({ host: host.name, packages: wanted, mailname: host.hostname, ondestroy: host.packages.onDestroy });
}

export function certificateBundle(host: HostConfig, chainPem: string, keyPem: string): string {
  return renderBundle({ host: host.name, chain: chainPem, key: keyPem });
}

export function dovecotBundle(host: HostConfig, userHashes: readonly { name: string; hash: string }[]): string {
  return renderBundle({
    host: host.name,
    backend: host.authBackend,
    "conf-2.3": renderDovecot(host, "2.3"),
    "conf-2.4": renderDovecot(host, "2.4"),
    passwd: renderPasswdFile(userHashes),
  });
}

function enabledPorts(host: HostConfig, withImaps: boolean): string[] {
  return enabledServices(host.services)
    .filter((s) => withImaps || s !== "imaps")
    .map((s) => String(ports[s]));
}

/**
 * The postfix step rehearses with the same client checks as the check step, against the certificate already on the
 * host, so that a rotated certificate re-runs only the certificate step and the check.
 */
export function postfixStepBundle(host: HostConfig): string {
  return renderBundle({ host: host.name, ...postfixBundle(renderPostfix(host)), ports: enabledPorts(host, false), hostname: host.hostname });
}

export function firewallBundle(host: HostConfig): string {
  const openings = renderOpenings(host);
  return renderBundle({
    host: host.name,
    backend: host.firewall.backend,
    nft: renderNftRules(openings),
    ufw: renderUfwRules(openings),
    firewalld: renderFirewalldRules(openings),
    "nft-sync": readScript("nft-sync.sh"),
  });
}

/**
 * The check re-runs whenever anything it checks changed: its stdin carries the certificate's fingerprint, the
 * settings it reads back, and a digest of the other steps' non-secret data.
 */
export function checkBundle(host: HostConfig, fingerprint: string): string {
  const digest = createHash("sha256")
    .update(postfixStepBundle(host))
    .update(firewallBundle(host))
    .update(renderDovecot(host, "2.3"))
    .update(renderDovecot(host, "2.4"))
    .digest("hex");
  return renderBundle({
    host: host.name,
    hostname: host.hostname,
    ports: enabledPorts(host, true),
    fingerprint,
    "postfix-guarantees": postfixGuarantees(renderPostfix(host)),
    "dovecot-guarantees": dovecotGuarantees(host),
    revision: digest,
  });
}
