/**
 * The resource graph, with Pulumi's mocks: no engine, no host. What is checked here is wiring and secrecy; what
 * the steps do on a host is the e2e suite's job.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { generateKeyPairSync } from "node:crypto";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { MailSubmission } from "../../components/mailSubmission";
import { makeCert, PASSWORD, SSH_KEY, validHost, withChange } from "./fixtures";

interface Created {
  type: string;
  name: string;
  parent?: pulumi.Resource;
  resource: pulumi.Resource;
  opts: pulumi.CustomResourceOptions;
}

const PEM = makeCert();
/** Names of all resources the mocks were asked to register. */
const registered: string[] = [];
const DKIM_PUBLIC = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "pem", type: "spki" }).toString();
const MARK_KEY = "-----BEGIN PRIVATE KEY-----\nTHE-TLS-PRIVATE-KEY\n-----END PRIVATE KEY-----\n";

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push(args.name);
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "tls:index/privateKey:PrivateKey") {
          state.privateKeyPem = MARK_KEY;
          // DKIM keys: a real public half, since the records are computed from it.
          state.privateKeyPemPkcs8 = `-----BEGIN PRIVATE KEY-----\nDKIM-${args.name}\n-----END PRIVATE KEY-----\n`;
          state.publicKeyPem = DKIM_PUBLIC;
        }
        if (args.type === "tls:index/selfSignedCert:SelfSignedCert" || args.type === "tls:index/locallySignedCert:LocallySignedCert") state.certPem = PEM.cert;
        if (args.type === "tls:index/certRequest:CertRequest") state.certRequestPem = "CSR";
        if (args.type === "command:remote:Command") {
          // What the firewall and certificate steps report on the host (the backend; the pair served where the host holds it).
          state.stdout = args.name.endsWith("-firewall") ? "backend=nftables\n" : args.name.endsWith("-certificate") ? SERVED : "";
          // A step's notes, one of them a warning (host/lib.sh `note "warning: …"`).
          const step = args.name.split("-").pop() ?? "";
          state.stderr = `${step}: done\n${step}: warning: ${step} says careful\n`;
        }
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "mail-submission",
    "test",
    false,
  );
});

const value = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply(resolve));

function build(args: unknown, name = "mx1"): { component: MailSubmission; created: Created[] } {
  const created: Created[] = [];
  const capture: pulumi.ResourceTransformation = (a) => {
    // Transformations see the component itself too; only its children are of interest.
    if (a.type !== "mail-submission:index:MailSubmission") created.push({ type: a.type, name: a.name, parent: a.opts.parent, resource: a.resource, opts: a.opts });
    return undefined;
  };
  const component = new MailSubmission(name, args as never, { transformations: [capture] });
  return { component, created };
}

const commands = (created: Created[]) => created.filter((c) => c.type === "command:remote:Command");

const SERVED = `sha256=${"ab".repeat(32)}\nnotAfter=2027-03-01T00:00:00.000Z\n`;

describe("MailSubmission resource graph", () => {
  it("creates the certificate and the nine steps as children, in host order", async () => {
    const { component, created } = build(validHost());
    expect(created.map((c) => `${c.type} ${c.name}`)).toEqual([
      "tls:index/privateKey:PrivateKey mx1-tls-key",
      "tls:index/selfSignedCert:SelfSignedCert mx1-tls-cert",
      ...["packages", "firewall", "certificate", "dovecot", "dkim", "ratelimit", "postfix", "bans", "check"].map((s) => `command:remote:Command mx1-${s}`),
    ]);
    for (const c of created) expect(c.parent).toBe(component);
    const deps = Object.fromEntries(commands(created).map((c) => [c.name, (c.opts.dependsOn as pulumi.Resource[]).map((r) => created.find((x) => x.resource === r)?.name)]));
    expect(deps).toEqual({
      "mx1-packages": [],
      "mx1-certificate": ["mx1-packages"],
      "mx1-dovecot": ["mx1-packages"],
      "mx1-dkim": ["mx1-packages"],
      "mx1-ratelimit": ["mx1-packages"],
      "mx1-postfix": ["mx1-certificate", "mx1-dovecot", "mx1-dkim", "mx1-ratelimit"],
      "mx1-firewall": ["mx1-packages"],
      "mx1-bans": ["mx1-firewall", "mx1-postfix", "mx1-dovecot"],
      "mx1-check": ["mx1-postfix", "mx1-firewall"],
    });
    expect(await value(component.firewallBackend)).toBe("nftables");
  });

  it("with IMAPS, Dovecot serves the certificate too, so its step waits for it", () => {
    const { created } = build(withChange((h) => (h.services = { imaps: true })));
    const dovecot = commands(created).find((c) => c.name === "mx1-dovecot");
    expect((dovecot?.opts.dependsOn as pulumi.Resource[]).map((r) => created.find((x) => x.resource === r)?.name)).toEqual(["mx1-certificate"]);
  });

  it("acme mode: no certificate resource, the certificate step waits for the firewall (the challenge's port), the host holds the pair", async () => {
    const { component, created } = build(withChange((h) => (h.certificate = { mode: "acme", acceptTermsOfService: true })));
    expect(created.filter((c) => c.type.startsWith("tls:"))).toEqual([]);
    const step = commands(created).find((c) => c.name === "mx1-certificate");
    expect((step?.opts.dependsOn as pulumi.Resource[]).map((r) => created.find((x) => x.resource === r)?.name)).toEqual(["mx1-packages", "mx1-firewall"]);
    expect(step?.opts.additionalSecretOutputs).toEqual(["stdout", "stderr", "stdin", "connection"]);
    expect(await value(component.certificateSource)).toBe("host");
    // The outputs are what the step reported serving, since the host renews it.
    expect(await value(component.certificateSha256)).toBe("ab".repeat(32));
    expect(await value(component.certificateNotAfter)).toBe("2027-03-01T00:00:00.000Z");
  });

  it("uses P-256 (never the provider's P-224 default) and names the host in the certificate", async () => {
    const { created } = build(withChange((h) => (h.extraSans = ["smtp.example.com"])));
    const key = created.find((c) => c.type === "tls:index/privateKey:PrivateKey")?.resource as unknown as { ecdsaCurve: pulumi.Output<string>; algorithm: pulumi.Output<string> };
    expect(await value(key.algorithm)).toBe("ECDSA");
    expect(await value(key.ecdsaCurve)).toBe("P256");
    const cert = created.find((c) => c.type === "tls:index/selfSignedCert:SelfSignedCert")?.resource as unknown as { dnsNames: pulumi.Output<string[]> };
    expect(await value(cert.dnsNames)).toEqual(["mail.example.com", "smtp.example.com"]);
  });

  it("ca mode: an internal CA signs the server certificate, and its certificate is an output", async () => {
    const { component, created } = build(withChange((h) => (h.certificate = { mode: "ca" })));
    expect(created.filter((c) => c.type.startsWith("tls:")).map((c) => c.name)).toEqual(["mx1-ca-key", "mx1-ca-cert", "mx1-tls-key", "mx1-tls-csr", "mx1-tls-cert"]);
    expect(await value(component.caCertificatePem)).toBe(PEM.cert);
  });

  it("provided mode: no tls resources, and the PEMs stay secret", async () => {
    const { component, created } = build(withChange((h) => (h.certificate = { mode: "provided", chainPem: PEM.cert, keyPem: PEM.key })));
    expect(created.filter((c) => c.type.startsWith("tls:"))).toEqual([]);
    const cert = commands(created).find((c) => c.name === "mx1-certificate")?.resource as command.remote.Command;
    expect(await pulumi.isSecret(cert.stdin as pulumi.Output<string>)).toBe(true);
    expect(await value(cert.stdin as pulumi.Output<string>)).toContain(PEM.key);
    // The fingerprint is public information, so it is not secret even though the chain came in as one.
    expect(await pulumi.isSecret(component.certificateSha256)).toBe(false);
    expect(await value(component.certificateSha256)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("with DKIM on: one key per algorithm and selector (retired ones kept), the signing keys only in the dkim step's secret stdin, the records as outputs", async () => {
    const { component, created } = build(withChange((h) => (h.dkim = { enabled: true, ed25519: true, selector: "s2", nextSelector: "s3", retiredSelectors: ["s1"] })));
    expect(created.filter((c) => c.name.includes("-dkim-")).map((c) => `${c.type} ${c.name}`)).toEqual(
      ["rsa-s2", "ed25519-s2", "rsa-s3", "ed25519-s3", "rsa-s1", "ed25519-s1"].map((k) => `tls:index/privateKey:PrivateKey mx1-dkim-${k}`),
    );
    const dkim = commands(created).find((c) => c.name === "mx1-dkim")?.resource as command.remote.Command;
    expect(await pulumi.isSecret(dkim.stdin as pulumi.Output<string>)).toBe(true);
    const stdin = await value(dkim.stdin as pulumi.Output<string>);
    expect(stdin).toContain("DKIM-mx1-dkim-rsa-s2");
    expect(stdin).toContain("DKIM-mx1-dkim-ed25519-s2");
    expect(stdin).not.toContain("DKIM-mx1-dkim-rsa-s1");
    expect(stdin).not.toContain("DKIM-mx1-dkim-rsa-s3");
    const records = await value(component.dkimRecords);
    expect(records.map((r) => r.split(" ")[0])).toEqual(["s2", "s2-ed25519", "s3", "s3-ed25519", "s1", "s1-ed25519"].map((s) => `${s}._domainkey.example.com.`));
    expect(await value(component.mailPolicySuggestions)).toHaveLength(2);
  });

  it("marks stdin, stdout and stderr secret exactly where a step sees secrets", async () => {
    const { created } = build(validHost());
    for (const c of commands(created)) {
      const sensitive = c.name.endsWith("-certificate") || c.name.endsWith("-dovecot") || c.name.endsWith("-dkim");
      const cmd = c.resource as command.remote.Command;
      // The SDK adds "connection" to every remote.Command on its own.
      expect(c.opts.additionalSecretOutputs).toEqual(sensitive ? ["stdout", "stderr", "stdin", "connection"] : ["connection"]);
      expect(await pulumi.isSecret(cmd.stdin as pulumi.Output<string>)).toBe(sensitive);
      // Never streamed: a failure's error carries the output once; streaming would print it twice.
      expect(await value(cmd.logging as pulumi.Output<string>)).toBe("none");
      expect(await value(cmd.addPreviousOutputInEnv as pulumi.Output<boolean>)).toBe(false);
      expect(c.opts.deleteBeforeReplace).toBe(true);
      const conn = await value(cmd.connection as pulumi.Output<{ hostKey?: string }>);
      expect(conn.hostKey).toMatch(/^ssh-ed25519 /);
      expect(await pulumi.isSecret(cmd.connection as pulumi.Output<unknown>)).toBe(true);
    }
  });

  it("keeps every secret out of every command line, and hashes passwords before they leave", async () => {
    const { created } = build(validHost());
    const dovecot = commands(created).find((c) => c.name === "mx1-dovecot")?.resource as command.remote.Command;
    const stdin = await value(dovecot.stdin as pulumi.Output<string>);
    expect(stdin).toMatch(/^alice@example\.com:\{SHA512-CRYPT\}\$6\$rounds=50000\$/m);
    expect(stdin).not.toContain(PASSWORD);
    for (const c of commands(created)) {
      const cmd = c.resource as command.remote.Command;
      for (const line of [await value(cmd.create as pulumi.Output<string>), await value(cmd.delete as pulumi.Output<string | undefined>)]) {
        for (const secret of [PASSWORD, MARK_KEY, "THE-TLS-PRIVATE-KEY", SSH_KEY, "{SHA512-CRYPT}"]) expect(line ?? "").not.toContain(secret);
      }
    }
  });

  it("runs every step through sudo for a non-root user, and removes what it added on destroy", async () => {
    const { created } = build(withChange((h) => (h.connection.user = "deploy")));
    for (const c of commands(created)) {
      const cmd = c.resource as command.remote.Command;
      expect(await value(cmd.create as pulumi.Output<string>)).toBe("sudo -n bash -s apply 0");
      expect(await value(cmd.update as pulumi.Output<string>)).toBe("sudo -n bash -s apply 0");
      // Without the drift read, the recorded commands stand: no diff, no SSH.
      expect(c.opts.ignoreChanges).toEqual(["create", "update"]);
      const del = await value(cmd.delete as pulumi.Output<string | undefined>);
      expect(del).toBe("sudo -n bash -s remove");
    }
  });

  it("sends each step its own program and data on stdin, which the delete reuses", async () => {
    const { created } = build(withChange((h) => (h.certificate = { mode: "provided", chainPem: PEM.cert, keyPem: PEM.key })));
    for (const c of commands(created)) {
      const step = c.name.replace(/^mx1-/, "");
      const stdin = await value((c.resource as command.remote.Command).stdin as pulumi.Output<string>);
      expect(stdin.startsWith(`STEP=${step}\n`), step).toBe(true);
      expect(stdin, step).toMatch(/\n#@ host\nmx1\n[\s\S]*\n#@ end\nMAIL_SUBMISSION_BUNDLE\n$/);
    }
  });

  it("passes a step's warnings on as Pulumi warnings, except from the steps whose output is secret", async () => {
    const warn = vi.spyOn(pulumi.log, "warn");
    const { component } = build(validHost(), "mx7");
    await value(component.endpoints);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ours = warn.mock.calls.filter(([, resource]) => resource === component).map(([message]) => message);
    warn.mockRestore();
    expect(ours.sort()).toEqual(["bans", "check", "firewall", "packages", "postfix", "ratelimit"].map((s) => `mx7 ${s} step: ${s} says careful`));
  });

  it("exports endpoints and SRV records", async () => {
    const { component } = build(validHost());
    expect(await value(component.endpoints)).toEqual(["submissions://mail.example.com:465", "submission://mail.example.com:587"]);
    expect(await value(component.dnsRecords)).toContain("_submissions._tcp.example.com. 3600 IN SRV 0 1 465 mail.example.com.");
    expect(await value(component.certificateNotAfter)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("exports the client autoconfiguration files and their URLs, none of them secret", async () => {
    const { component } = build(withChange((h) => (h.services = { imaps: true })));
    const outputs: pulumi.Output<unknown>[] = [component.autoconfigXml, component.appleMobileconfig, component.autoconfigUrls];
    for (const output of outputs) expect(await pulumi.isSecret(output)).toBe(false);
    expect(await value(component.autoconfigXml)).toContain('<outgoingServer type="smtp">');
    expect(await value(component.appleMobileconfig)).toContain("<string>com.apple.mail.managed</string>");
    expect(await value(component.autoconfigUrls)).toEqual([
      "https://autoconfig.example.com/mail/config-v1.1.xml",
      "https://example.com/.well-known/autoconfig/mail/config-v1.1.xml",
    ]);
    // Without IMAPS neither file exists (autoconfig/render.ts says why); the outputs are still there, empty.
    const { component: noImaps } = build(validHost(), "mx2");
    expect(await value(noImaps.autoconfigXml)).toBeUndefined();
    expect(await value(noImaps.appleMobileconfig)).toBeUndefined();
    expect(await value(noImaps.autoconfigUrls)).toEqual([]);
  });

  it("refuses invalid args before registering anything", async () => {
    expect(() => build(withChange((h) => delete h.hostname), "bad")).toThrow(/bad\.hostname: required/);
    build(validHost(), "good");
    await new Promise((r) => setTimeout(r, 200));
    expect(registered).toContain("good-packages");
    expect(registered.filter((n) => n === "bad" || n.startsWith("bad-"))).toEqual([]);
  });
});
