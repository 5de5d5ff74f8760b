/**
 * The host configurations the e2e suites deploy, each as a stack of this project's program on one sandbox host.
 * Keys and certificates are named by file (read at `pulumi up`, kept as secrets from then on); passwords go into
 * the stack config as Pulumi secrets, as `pulumi config set --secret --path` would put them.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineStack, type SecretAt } from "./engine";
import type { Pki } from "./pki";
import { sshExec, type SandboxHost } from "./sandbox";

export const HOSTNAME = "mail.sandbox.test";
export const ALICE = { name: "alice@sandbox.test", password: "alice-Pw-7f3e9c1d" };
export const BOB = { name: "bob@sandbox.test", password: "bob-Pw-2b8d4a6e" };

export interface User {
  name: string;
  /** Set as a Pulumi secret in the stack config. */
  password: string;
  senders?: string[];
  /** Given instead of the password (it is public), as an operator with `doveadm pw` output would. */
  passwordHash?: string;
}

/** A certificate as the stack config names it: one of the modes, with provided PEMs written to files. */
export type CertificateConfig = { mode: "selfSigned" | "ca" | "acme" | "host"; [key: string]: unknown } | { mode: "provided"; chainPem: string; keyPem: string };

function certificateConfig(cert: CertificateConfig): Record<string, unknown> {
  if (cert.mode !== "provided") return cert;
  const dir = mkdtempSync(join(tmpdir(), "ms-cert-"));
  writeFileSync(join(dir, "fullchain.pem"), cert.chainPem);
  writeFileSync(join(dir, "privkey.pem"), cert.keyPem, { mode: 0o600 });
  return { mode: "provided", chainFile: join(dir, "fullchain.pem"), keyFile: join(dir, "privkey.pem") };
}

export interface HostSpec {
  certificate: CertificateConfig;
  users?: User[];
  extra?: Record<string, unknown>;
  /** Further secrets, by their path inside the host (e.g. certificate.challenge.credentials.RFC2136_TSIG_SECRET). */
  secrets?: SecretAt[];
}

/** The stack config of one host (passwords left out) and the secrets that go with it. */
export function hostEntry(sb: SandboxHost, spec: HostSpec, index = 0): { host: Record<string, unknown>; secrets: SecretAt[] } {
  const users: User[] = spec.users ?? [ALICE];
  return {
    host: {
      name: sb.name,
      hostname: HOSTNAME,
      connection: { host: sb.address, user: sb.user, privateKeyFile: sb.privateKeyPath, hostKey: sb.hostKey },
      certificate: certificateConfig(spec.certificate),
      users: users.map((u) => ({ name: u.name, ...(u.senders ? { senders: u.senders } : {}), ...(u.passwordHash ? { passwordHash: u.passwordHash } : {}) })),
      ...spec.extra,
    },
    secrets: [
      ...users.flatMap((u, i) => (u.passwordHash ? [] : [{ path: `hosts[${index}].users[${i}].password`, value: u.password }])),
      ...(spec.secrets ?? []).map((x) => ({ path: `hosts[${index}].${x.path}`, value: x.value })),
    ],
  };
}

/** A stack named `e2e-<name>` deploying `spec` to `sb`. */
export async function stackFor(name: string, sb: SandboxHost, spec: HostSpec): Promise<EngineStack> {
  const { host, secrets } = hostEntry(sb, spec);
  return EngineStack.create(`e2e-${name}`, { hosts: [host] }, secrets);
}

/** Re-configures an existing stack for the same host. */
export async function reconfigure(stack: EngineStack, sb: SandboxHost, spec: HostSpec): Promise<void> {
  const { host, secrets } = hostEntry(sb, spec);
  await stack.configure({ hosts: [host] }, secrets);
}

export function tlsFor(ca: string | Pki) {
  return { servername: HOSTNAME, ca: typeof ca === "string" ? ca : ca.caCertPem };
}

/** The CA certificate a `ca`-mode stack exports for its host. */
export async function stackCa(stack: EngineStack, host: string): Promise<string> {
  const hosts = (await stack.outputs()).hosts as Record<string, { caCertificatePem?: string }>;
  const pem = hosts[host]?.caCertificatePem;
  if (!pem) throw new Error(`stack ${stack.name} exports no caCertificatePem for ${host}`);
  return pem;
}

/** sshd logins on the host between two instants (the host's journal; the host shares this machine's clock). */
export async function sshLogins(sb: SandboxHost, fromMs: number, toMs: number): Promise<number> {
  // No unit filter: OpenSSH 10 (Debian 13) logs the login from sshd-session, 9 (Debian 12) from sshd.
  const r = await sshExec(sb, `journalctl --since @${(fromMs / 1000).toFixed(3)} --until @${(toMs / 1000).toFixed(3)} --no-pager -o cat`, { user: "root" });
  return (r.stdout.match(/^Accepted publickey for /gm) ?? []).length;
}
