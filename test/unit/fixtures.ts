/** Small valid inputs that tests vary one key at a time. */
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
