/** Small valid inputs that tests vary one key at a time. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../components/config/parse";
import type { HostInput } from "../../components/config/schema";

export const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
export const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n";
export const PASSWORD = "correct horse battery staple";

export function validHost(overrides: Partial<HostInput> = {}): HostInput {
  return {
    name: "mx1",
    hostname: "mail.example.com",
    connection: { host: "192.0.2.10", user: "root", privateKey: SSH_KEY, hostKey: HOST_KEY },
    users: [{ name: "alice@example.com", password: PASSWORD }],
    ...overrides,
  };
}

/** Deep copy with one change applied, for table-driven tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests reach into free-form config to break it
export type Mutable = Record<string, any>;

export function withChange(change: (h: Mutable) => void, base: HostInput = validHost()): unknown {
  const copy = structuredClone(base) as Mutable;
  change(copy);
  return copy;
}

/** The problems a config error reports, or none when `f` passes. */
export function configProblems(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

/** A real certificate and key for mail.example.com (openssl), for code that reads certificates. */
export function makeCert(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "ms-cert-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=mail.example.com",
    "-addext", "subjectAltName=DNS:mail.example.com", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "90"], { stdio: "ignore" });
  return { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") };
}
