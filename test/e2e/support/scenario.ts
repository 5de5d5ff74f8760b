/** The host configuration the e2e suites deploy, built around one sandbox host and one test PKI. */
import type { Pki } from "./pki";
import type { SandboxHost } from "./sandbox";

export const HOSTNAME = "mail.sandbox.test";
export const ALICE = { name: "alice@sandbox.test", password: "alice-Pw-7f3e9c1d" };
export const BOB = { name: "bob@sandbox.test", password: "bob-Pw-2b8d4a6e" };

export function hostConfig(sb: SandboxHost, cert: { chainPem: string; keyPem: string }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: sb.name,
    hostname: HOSTNAME,
    connection: { host: sb.address, user: sb.user, privateKeyFile: sb.privateKeyPath, hostKey: sb.hostKey },
    certificate: { mode: "provided", ...cert },
    users: [ALICE],
    ...extra,
  };
}

export function tlsFor(pki: Pki) {
  return { servername: HOSTNAME, ca: pki.caCertPem };
}
