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
import { ConfigError, parseStack } from "../../components/config";
import { HOST_KEY, SSH_KEY, type Mutable } from "./fixtures";

function stackConfig(stack: string): { environment: string; hosts: Mutable[] } {
  const doc = parse(readFileSync(join(__dirname, "../../stacks", `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  return { environment: doc.config["mail-submission:environment"] as string, hosts: doc.config["mail-submission:hosts"] as Mutable[] };
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
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=mail.sandbox.test",
    "-keyout", files.key, "-out", files.chain, "-days", "2"], { stdio: "ignore" });
  writeFileSync(files.ssh, SSH_KEY);
  writeFileSync(files.hostKey, `${HOST_KEY} root@sandbox\n`);
});

/** The dev stack, pointed at this test's files instead of a running sandbox's. */
function devHosts(): Mutable[] {
  return stackConfig("dev").hosts.map((h) => ({
    ...h,
    connection: { ...h.connection, privateKeyFile: files.ssh, hostKeyFile: files.hostKey },
    certificate: { ...h.certificate, chainFile: files.chain, keyFile: files.key },
  }));
}

describe("stack files", () => {
  it.each(["dev", "staging", "production"])("%s validates once its secrets are set", (stack) => {
    const s = stackConfig(stack);
    const hosts = stack === "dev" ? devHosts() : withSecrets(s.hosts);
    expect(parseStack({ environment: s.environment, hosts }).hosts.length).toBeGreaterThan(0);
  });

  it("production pins every host key and keeps selfSigned out", () => {
    const prod = parseStack({ environment: "production", hosts: withSecrets(stackConfig("production").hosts) });
    for (const h of prod.hosts) {
      expect(h.connection.hostKey).toMatch(/^ssh-ed25519 /);
      expect(h.connection.insecureSkipHostKeyCheck).toBe(false);
      expect(h.certificate.mode).not.toBe("selfSigned");
    }
  });

  it("production refuses what staging would take", () => {
    const hosts = withSecrets(stackConfig("production").hosts).map((h) => ({ ...h, certificate: { mode: "selfSigned" } }));
    expect(() => parseStack({ environment: "staging", hosts })).not.toThrow();
    expect(() => parseStack({ environment: "production", hosts })).toThrow(ConfigError);
  });

  it("hold no plaintext secret", () => {
    for (const stack of ["dev", "staging", "production"]) {
      const text = readFileSync(join(__dirname, "../../stacks", `Pulumi.${stack}.yaml`), "utf8");
      expect(text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|password:|privateKey:|keyPem:/);
    }
  });
});

describe("the program", () => {
  beforeAll(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, stdout: args.name.endsWith("-firewall") ? "backend=ufw\n" : "" } }),
        call: (args) => args.inputs,
      },
      "mail-submission",
      "dev",
      false,
    );
  });

  async function runProgram(hosts: unknown): Promise<Record<string, Record<string, pulumi.Output<unknown>>>> {
    pulumi.runtime.setAllConfig({ "mail-submission:environment": "dev", "mail-submission:hosts": JSON.stringify(hosts) });
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
