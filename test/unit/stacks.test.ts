/**
 * The committed stack files: each validates once its secrets are set (as `pulumi config set --secret` would), and
 * the program turns one into components and outputs. Runs the real program module under Pulumi's mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { ConfigError, parseStack } from "../../components/config/parse";
import { isProductionStackName } from "../../components/config/schema";
import { HOST_KEY, SSH_KEY, type Mutable } from "./fixtures";

function stackConfig(stack: string): { production: boolean; hosts: Mutable[] } {
  const doc = parse(readFileSync(join(__dirname, "../../stacks", `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  const production = (doc.config["mail-submission:production"] as boolean | undefined) ?? isProductionStackName(stack);
  return { production, hosts: doc.config["mail-submission:hosts"] as Mutable[] };
}

/** A `secure:` value stands in for the decrypted secret (the mocks do not decrypt). */
function decrypted(hosts: Mutable[]): Mutable[] {
  return hosts.map((h) => ({ ...h, users: (h.users ?? []).map((u: Mutable) => (u.password?.secure ? { ...u, password: "a secret" } : u)) }));
}

/** What `pulumi config set --secret --path` adds to a stack before its first `up`. */
function withSecrets(hosts: Mutable[]): Mutable[] {
  return hosts.map((h) => {
    const c = structuredClone(h);
    if (!c.connection.privateKeyFile) c.connection.privateKey ??= SSH_KEY;
    if (c.connection.bastion) c.connection.bastion.privateKey ??= SSH_KEY;
    for (const u of c.users ?? []) if (!u.passwordHash) u.password ??= "a secret";
    if (c.certificate?.mode === "provided" && c.certificate.chainFile?.startsWith("/etc/letsencrypt")) {
      [c.certificate.chainFile, c.certificate.keyFile] = [files.chain, files.key];
    }
    return c;
  });
}

const dir = mkdtempSync(join(tmpdir(), "ms-stacks-"));
const files = { chain: join(dir, "fullchain.pem"), key: join(dir, "privkey.pem"), ssh: join(dir, "id"), hostKey: join(dir, "host.pub") };

beforeAll(() => {
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=mail.example.com",
    "-addext", "subjectAltName=DNS:mail.example.com", "-keyout", files.key, "-out", files.chain, "-days", "90"], { stdio: "ignore" });
  writeFileSync(files.ssh, SSH_KEY);
  writeFileSync(files.hostKey, `${HOST_KEY} root@sandbox\n`);
});

/** The dev stack, pointed at this test's files instead of a running sandbox's. */
function devHosts(): Mutable[] {
  return decrypted(stackConfig("dev").hosts).map((h) => ({
    ...h,
    connection: { ...h.connection, privateKeyFile: files.ssh, hostKeyFile: files.hostKey },
  }));
}

describe("stack files", () => {
  it.each(["dev", "staging", "production"])("%s validates once its secrets are set", (stack) => {
    const s = stackConfig(stack);
    const hosts = stack === "dev" ? devHosts() : withSecrets(s.hosts);
    expect(parseStack({ production: s.production, hosts }).hosts.length).toBeGreaterThan(0);
  });

  it("production pins every host key and keeps selfSigned out", () => {
    expect(stackConfig("production").production).toBe(true);
    expect(stackConfig("staging").production).toBe(false);
    const prod = parseStack({ production: true, hosts: withSecrets(stackConfig("production").hosts) });
    for (const h of prod.hosts) {
      expect(h.connection.hostKey).toMatch(/^ssh-ed25519 /);
      expect(h.connection.insecureSkipHostKeyCheck).toBe(false);
      expect(h.certificate.mode).not.toBe("selfSigned");
    }
  });

  it("production refuses what staging would take", () => {
    const hosts = withSecrets(stackConfig("production").hosts).map((h) => ({ ...h, certificate: { mode: "selfSigned" } }));
    expect(() => parseStack({ production: false, hosts })).not.toThrow();
    expect(() => parseStack({ production: true, hosts })).toThrow(ConfigError);
  });

  it("hold no plaintext secret", () => {
    for (const stack of ["dev", "staging", "production"]) {
      const text = readFileSync(join(__dirname, "../../stacks", `Pulumi.${stack}.yaml`), "utf8");
      // A secret key may appear only with a `secure:` (encrypted) value under it.
      expect(text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|(password|privateKey|keyPem):(?!\s*\n\s*secure: v1:)/);
    }
  });
});

describe("the program", () => {
  beforeAll(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          const state: Record<string, unknown> = { ...args.inputs, stdout: args.name.endsWith("-firewall") ? "backend=ufw\n" : "" };
          // The dev stack's `ca` mode: the tls provider's outputs, with a real certificate for the fingerprint.
          if (args.type.endsWith("SignedCert")) state.certPem = readFileSync(files.chain, "utf8");
          if (args.type === "tls:index/privateKey:PrivateKey") state.privateKeyPem = "a key";
          if (args.type === "tls:index/certRequest:CertRequest") state.certRequestPem = "a CSR";
          return { id: `${args.name}-id`, state };
        },
        call: (args) => args.inputs,
      },
      "mail-submission",
      "dev",
      false,
    );
  });

  async function runProgram(hosts: unknown): Promise<Record<string, Record<string, pulumi.Output<unknown>>>> {
    pulumi.runtime.setAllConfig({ "mail-submission:hosts": JSON.stringify(hosts) });
    vi.resetModules();
    return ((await import("../../components/program")) as { hosts: Record<string, Record<string, pulumi.Output<unknown>>> }).hosts;
  }

  const value = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply(resolve));

  it("builds one component per host from the dev stack and exports its outputs", async () => {
    const hosts = await runProgram(devHosts());
    expect(Object.keys(hosts)).toEqual(["dev"]);
    expect(await value(hosts.dev?.endpoints as pulumi.Output<string[]>)).toEqual(["submissions://mail.sandbox.test:465", "submission://mail.sandbox.test:587"]);
    expect(await value(hosts.dev?.firewallBackend as pulumi.Output<string>)).toBe("ufw");
    expect(await value(hosts.dev?.certificateSha256 as pulumi.Output<string>)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("stops on a bad stack config with every problem named, before any resource", async () => {
    const bad = devHosts().map((h) => ({ ...h, hostname: "nope", connection: { ...h.connection, port: 0 } }));
    await expect(runProgram(bad)).rejects.toThrow(/hosts\[0\]\.connection\.port: .*\n.*hosts\[0\]\.hostname: must be a fully qualified DNS name/s);
  });
});
