/**
 * The remote steps of one host, as pure data: which script runs, what it reads on stdin, what it waits for.
 * The component turns these into remote.Commands; the sandbox tests feed the very same bundles over plain SSH.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { HostConfig } from "./schema";
import { renderBundle } from "./render/bundle";
import { renderDovecot, renderPasswdFile } from "./render/dovecot";
import { renderFirewalldRules, renderNftRules, renderOpenings, renderUfwRules } from "./render/firewall";
import { enabledServices, ports } from "./render/paths";
import { postfixBundle, renderPostfix } from "./render/postfix";

export type StepName = "packages" | "certificate" | "dovecot" | "postfix" | "firewall" | "check";

export interface StepSpec {
  readonly name: StepName;
  /** Its stdin holds key material or password hashes: stdin, stdout and stderr are Pulumi secrets. */
  readonly sensitive: boolean;
  /** Whether `pulumi destroy` runs its `remove` action (packages stay installed; the check has nothing to undo). */
  readonly removable: boolean;
  readonly after: readonly StepName[];
}

/**
 * Order on the host. The firewall needs only the packages, so it runs beside the daemon steps; Postfix comes after
 * Dovecot because its smtpd asks Dovecot's socket before it offers AUTH.
 */
export const STEPS: readonly StepSpec[] = [
  { name: "packages", sensitive: false, removable: false, after: [] },
  { name: "certificate", sensitive: true, removable: true, after: ["packages"] },
  { name: "dovecot", sensitive: true, removable: true, after: ["certificate"] },
  { name: "postfix", sensitive: false, removable: true, after: ["dovecot"] },
  { name: "firewall", sensitive: false, removable: true, after: ["packages"] },
  { name: "check", sensitive: false, removable: false, after: ["postfix", "firewall"] },
];

const SCRIPT_DIR = join(__dirname, "scripts");
const readScript = (file: string): string => readFileSync(join(SCRIPT_DIR, file), "utf8");

/** The whole program a step runs on the host: lib.sh followed by the step's own script. */
export function stepScript(step: StepName): string {
  return `${readScript("lib.sh")}\n${readScript(`${step}.sh`)}`;
}

const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The command line of a step. The script travels inside it (it holds no secret), the data over stdin; `$0` names
 * the step in log lines and `$1` is the action. A non-root user runs it through `sudo -n`, which fails at once
 * instead of waiting for a password.
 */
export function stepCommand(step: StepName, action: "apply" | "remove", sudo: boolean): string {
  return `${sudo ? "sudo -n " : ""}bash -c ${shellQuote(stepScript(step))} mail-submission-${step} ${action}`;
}

export function packagesBundle(host: HostConfig): string {
  const wanted = ["postfix", "dovecot-core", "openssl", "ca-certificates"];
  if (host.services.imaps) wanted.push("dovecot-imapd");
  if (host.firewall.backend !== "auto" && host.firewall.backend !== "none") wanted.push(host.firewall.backend);
  return renderBundle({ packages: wanted, mailname: host.hostname });
}

export function certificateBundle(chainPem: string, keyPem: string): string {
  return renderBundle({ chain: chainPem, key: keyPem });
}

export function dovecotBundle(host: HostConfig, userHashes: readonly { name: string; hash: string }[]): string {
  return renderBundle({
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

export function postfixStepBundle(host: HostConfig): string {
  return renderBundle({ ...postfixBundle(renderPostfix(host)), ports: enabledPorts(host, false), hostname: host.hostname });
}

export function firewallBundle(host: HostConfig): string {
  const openings = renderOpenings(host);
  return renderBundle({
    backend: host.firewall.backend,
    nft: renderNftRules(openings),
    ufw: renderUfwRules(openings),
    firewalld: renderFirewalldRules(openings),
    "nft-sync": readScript("nft-sync.sh"),
  });
}

/**
 * The check re-runs whenever anything it checks changed: its stdin carries the certificate's fingerprint and a
 * digest of the other steps' non-secret data.
 */
export function checkBundle(host: HostConfig, fingerprint: string): string {
  const digest = createHash("sha256")
    .update(postfixStepBundle(host))
    .update(firewallBundle(host))
    .update(renderDovecot(host, "2.3"))
    .update(renderDovecot(host, "2.4"))
    .digest("hex");
  return renderBundle({ hostname: host.hostname, ports: enabledPorts(host, true), fingerprint, revision: digest });
}
