/**
 * mail-submission-verify against a real host, run the way a pipeline runs it: as a child process, the password in
 * an environment variable. One sandbox host is deployed correctly with `pulumi up` (everything must pass, also
 * through `--stack`), then broken on purpose, by `pulumi up` of other configurations or, where the component refuses
 * to weaken a host, by hand, and each break must fail with its own finding.
 */
import * as dgram from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as packet from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINE_ENV, type EngineStack } from "../harness/engine";
import { makePki } from "../harness/pki";
import { delivered, handshakeAt, hostRoot } from "../harness/probes";
import { downHost, upHost, type SandboxHost } from "../harness/sandbox";
import { ALICE, HOSTNAME, reconfigure, stackFor, type HostSpec } from "../harness/scenario";
import { failures, findings, status, verify } from "../harness/verifyCli";

/** A DNS server on loopback publishing the RFC 6186 records of sandbox.test, for --srv with --dns-server. */
function srvServer(): Promise<{ address: string; close: () => void }> {
  const zone: Record<string, number> = { "_submissions._tcp.sandbox.test": 465, "_submission._tcp.sandbox.test": 587 };
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, from) => {
    const q = packet.decode(msg);
    const name = q.questions?.[0]?.name ?? "";
    const port = zone[name];
    const answers = port ? [{ type: "SRV" as const, name, ttl: 60, data: { priority: port === 465 ? 0 : 10, weight: 1, port, target: HOSTNAME } }] : [];
    socket.send(packet.encode({ id: q.id, type: "response", flags: port ? 0 : 3, questions: q.questions, answers }), from.port, from.address);
  });
  return new Promise((ready) => socket.bind(0, "127.0.0.1", () => ready({ address: `127.0.0.1:${socket.address().port}`, close: () => socket.close() })));
}

describe("mail-submission-verify against a sandbox host deployed with pulumi up", () => {
  const pki = makePki();
  const dir = mkdtempSync(join(tmpdir(), "e2e-verify-"));
  const caFile = join(dir, "ca.pem");
  const env = { VERIFY_PASSWORD: ALICE.password };
  let sb: SandboxHost;
  let stack: EngineStack;
  let dns: { address: string; close: () => void };
  const target = () => [`${sb.address}:${HOSTNAME}`, "--ca-file", caFile, "--timeout", "10"];
  const login = ["--user", ALICE.name, "--password-env", "VERIFY_PASSWORD"];

  /** `pulumi up` of another configuration of the same host. */
  async function redeploy(next: HostSpec): Promise<void> {
    await reconfigure(stack, sb, next);
    await stack.up();
  }
  const certified = (name = HOSTNAME, opts?: { days?: number }): HostSpec => ({ certificate: { mode: "provided", ...pki.issue(name, opts) } });
  /**
   * Serves a pair that the component refuses to deploy (wrong name, expired): written over the deployed one by hand,
   * as another tool or an operator might, so that verify is what has to catch it.
   */
  async function serveByHand(pair: { chainPem: string; keyPem: string }): Promise<void> {
    await hostRoot(sb, 'cat > "$(readlink -f /etc/mail-submission/tls)/fullchain.pem"', pair.chainPem);
    await hostRoot(sb, 'cat > "$(readlink -f /etc/mail-submission/tls)/privkey.pem" && postfix reload', pair.keyPem);
  }

  beforeAll(async () => {
    writeFileSync(caFile, pki.caCertPem);
    dns = await srvServer();
    sb = await upHost("e2e-verify-a", { release: "bookworm" });
    stack = await stackFor("verify", sb, certified());
    await stack.up();
  }, 600_000);

  afterAll(async () => {
    dns?.close();
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("passes every check on a correct host, sends a message on each port, and exits 0", async () => {
    const run = await verify([...target(), ...login, "--send", "--from", ALICE.name, "--to", `root@${HOSTNAME}`,
      "--srv", "sandbox.test", "--dns-server", dns.address, "--json"], env);
    console.log(run.rows.map((r) => `${r.port} ${r.check} ${r.status} ${r.detail}`).join("\n"));
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const checks = (port: number) => run.rows.filter((r) => r.port === port).map((r) => r.check);
    expect(checks(465)).toEqual(["implicit-tls", "certificate-trusted", "certificate-hostname", "certificate-expiry", "auth-offered",
      "tls1.0-refused", "tls1.1-refused", "relay-refused", "auth-plain", "send", "auth-login", "srv _submissions._tcp.sandbox.test"]);
    expect(checks(587)).toEqual(["starttls", "no-auth-before-tls", "mail-refused-before-tls", "certificate-trusted", "certificate-hostname",
      "certificate-expiry", "auth-offered", "tls1.0-refused", "tls1.1-refused", "relay-refused", "auth-plain", "send", "auth-login",
      "srv _submission._tcp.sandbox.test"]);
    expect(checks(25)).toEqual(["no-auth-on-25"]);
    expect(run.rows.filter((r) => r.status !== "PASS")).toEqual([]);
    expect(status(run, 587, "mail-refused-before-tls")?.detail).toContain("530 5.7.0 Must issue a STARTTLS command first");
    expect(status(run, 465, "relay-refused")?.detail).toMatch(/^RCPT TO:<relay-test@example\.org> refused without AUTH: 554 5\.7\.1 /);
    expect(status(run, 587, "tls1.1-refused")?.detail).toMatch(/^TLSv1\.1 refused: TLS handshake failed: /);
    expect(status(run, 25, "no-auth-on-25")?.detail).toBe("no AUTH before or after STARTTLS");
    for (const port of [465, 587]) expect(await delivered(sb, `mail-submission verify: ${HOSTNAME} port ${port}`)).toBeDefined();
    expect(run.stdout).not.toContain(ALICE.password);
  }, 180_000);

  it("--stack reads the deployed hosts, their CA and fingerprints from the stack, and passes", async () => {
    // The test PKI's CA is not in the stack (provided certificates), so it is named here.
    const run = await verify(["--stack", stack.name, "--resolve", `${HOSTNAME}:${sb.address}`, "--ca-file", caFile, ...login, "--no-port25", "--json"], { ...ENGINE_ENV, ...env });
    findings(run, "--stack");
    expect(run.code).toBe(0);
    expect(run.rows.filter((r) => r.status !== "PASS")).toEqual([]);
    expect(run.rows.find((r) => r.port === 465 && r.check === "certificate-deployed")?.detail).toBe("the certificate the stack deployed");
  }, 180_000);

  it("prints a table by default", async () => {
    const run = await verify([...target(), "--no-port25"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^HOST +PORT +CHECK +STATUS +DETAIL\n/);
    expect(run.stdout).toMatch(new RegExp(`^${sb.address.replaceAll(".", "\\.")}:${HOSTNAME} +465 +implicit-tls +PASS +TLSv1\\.3 `, "m"));
    expect(run.stdout).toMatch(/\nverify: \d+ PASS, 0 WARN, 0 FAIL, 0 SKIP\n$/);
  }, 120_000);

  it("without --ca-file, judges the chain by the system trust store, and then keeps the password to itself", async () => {
    const run = await verify([`${sb.address}:${HOSTNAME}`, ...login, "--no-port25", "--json"], env);
    findings(run, "no --ca-file");
    expect(run.code).toBe(1);
    expect(failures(run)).toEqual(["465 certificate-trusted", "587 certificate-trusted"]);
    expect(status(run, 465, "certificate-trusted")?.detail).toMatch(/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY) \(against the system trust store\)$/);
    expect(status(run, 465, "auth-plain")).toMatchObject({ status: "SKIP", detail: expect.stringContaining("password is not sent") });
  }, 120_000);

  it("fails a host that offers AUTH before STARTTLS, takes mail in clear and accepts TLS 1.0 and 1.1", async () => {
    // The component refuses to weaken a host, so this one is weakened by hand. The product's cipher list is
    // AEAD-only, which TLS 1.0/1.1 cannot use: without the cipher change the old versions would still fail for want
    // of a shared cipher, and the host would not be the broken one this test needs.
    const weaken = (svc: string) =>
      `${svc}/smtpd_tls_protocols= ${svc}/smtpd_tls_mandatory_protocols='!SSLv2,!SSLv3' ${svc}/smtpd_tls_ciphers=medium ${svc}/smtpd_tls_mandatory_ciphers=medium`;
    await hostRoot(sb, `postconf -P 0.0.0.0:587/inet/smtpd_tls_security_level=may 0.0.0.0:587/inet/smtpd_tls_auth_only=no ${weaken("0.0.0.0:587/inet")} ${weaken("0.0.0.0:465/inet")} && postfix reload`);
    // First show the host really is broken that way, with the harness's handshake probe rather than the CLI's check.
    for (const port of [465, 587] as const) {
      for (const version of ["TLSv1", "TLSv1.1"] as const) {
        const r = await handshakeAt(sb.address, port, HOSTNAME, version);
        expect(r, `${version} on ${port}`).toMatchObject({ ok: true, protocol: version });
      }
    }
    const run = await verify([...target(), "--json"]);
    findings(run, "587 at security level may, TLS 1.0/1.1 allowed");
    expect(run.code).toBe(1);
    expect(failures(run)).toEqual(["465 tls1.0-refused", "465 tls1.1-refused", "587 mail-refused-before-tls", "587 no-auth-before-tls",
      "587 tls1.0-refused", "587 tls1.1-refused"]);
    expect(status(run, 587, "no-auth-before-tls")?.detail).toBe("AUTH LOGIN PLAIN advertised before STARTTLS: passwords may travel in clear");
    expect(status(run, 587, "mail-refused-before-tls")?.detail).toMatch(/^MAIL FROM accepted in clear: 250 /);
    expect(status(run, 465, "tls1.0-refused")?.detail).toMatch(/^TLSv1 accepted \(/);
    // Still no relay: the break is about TLS and AUTH, not about the relay rules.
    expect(status(run, 587, "relay-refused")?.status).toBe("PASS");
    // pulumi up does not see the hand edit (the component reads nothing back): re-running the Postfix step repairs it.
    await stack.up({ replace: [await stack.urn(sb.name, "postfix")] });
  }, 300_000);

  it("fails a certificate for another name, and does not send the password to it", async () => {
    // The component refuses to deploy it before any host is touched, naming the key.
    await expect(redeploy(certified("wrong.sandbox.test"))).rejects.toThrow(/certificate\.chainPem: the certificate does not cover mail\.sandbox\.test \(it names DNS:wrong\.sandbox\.test\)/);
    await serveByHand(pki.issue("wrong.sandbox.test"));
    const run = await verify([...target(), ...login, "--no-port25", "--json"], env);
    findings(run, "certificate for wrong.sandbox.test");
    expect(run.code).toBe(1);
    expect(failures(run)).toEqual(["465 certificate-hostname", "587 certificate-hostname"]);
    expect(status(run, 465, "certificate-hostname")?.detail).toMatch(/mail\.sandbox\.test.*DNS:wrong\.sandbox\.test/);
    expect(run.rows.filter((r) => r.check === "auth-plain" || r.check === "auth-login").map((r) => r.status)).toEqual(["SKIP", "SKIP", "SKIP", "SKIP"]);
  }, 300_000);

  it("fails an expired certificate", async () => {
    await expect(redeploy(certified(HOSTNAME, { days: -1 }))).rejects.toThrow(/certificate\.chainPem: the certificate expired on /);
    await serveByHand(pki.issue(HOSTNAME, { days: -1 }));
    const run = await verify([...target(), "--no-port25", "--json"]);
    findings(run, "expired certificate");
    expect(run.code).toBe(1);
    expect(failures(run)).toEqual(["465 certificate-expiry", "465 certificate-trusted", "587 certificate-expiry", "587 certificate-trusted"]);
    expect(status(run, 465, "certificate-trusted")?.detail).toMatch(/^CERT_HAS_EXPIRED /);
    expect(status(run, 587, "certificate-expiry")?.detail).toMatch(/^expired /);
  }, 300_000);

  it("warns about a certificate that expires soon, and fails it under --fail-days", async () => {
    await redeploy(certified(HOSTNAME, { days: 10 }));
    const warned = await verify([...target(), "--no-port25", "--json"]);
    findings(warned, "certificate valid for 10 days");
    expect(warned.code).toBe(0);
    expect(warned.rows.filter((r) => r.status !== "PASS").map((r) => [r.port, r.check, r.status])).toEqual([[465, "certificate-expiry", "WARN"], [587, "certificate-expiry", "WARN"]]);
    expect(status(warned, 465, "certificate-expiry")?.detail).toMatch(/^9 days left \(until .*\), under --warn-days 21$/);
    const failed = await verify([...target(), "--no-port25", "--fail-days", "14", "--json"]);
    expect(failed.code).toBe(1);
    expect(failures(failed)).toEqual(["465 certificate-expiry", "587 certificate-expiry"]);
  }, 300_000);

  it("fails AUTH with a wrong password, naming the server's 535", async () => {
    await redeploy(certified());
    // Dovecot delays answers after failures (up to 15 s each), hence the longer timeout.
    const run = await verify([...target(), "--no-port25", ...login, "--timeout", "30", "--json"], { VERIFY_PASSWORD: "not-the-password" });
    findings(run, "wrong password");
    expect(run.code).toBe(1);
    expect(failures(run)).toEqual(["465 auth-login", "465 auth-plain", "587 auth-login", "587 auth-plain"]);
    expect(status(run, 587, "auth-plain")?.detail).toMatch(/^alice@sandbox\.test: .*535 5\.7\.8 Error: authentication failed/);
    expect(run.stdout).not.toContain("not-the-password");
  }, 300_000);

  it("fails a host whose 465 is switched off, and keeps checking 587", async () => {
    await redeploy({ ...certified(), extra: { services: { submissions: false } } });
    const run = await verify([...target(), "--no-port25", "--json"]);
    findings(run, "465 switched off");
    expect(run.code).toBe(1);
    expect(failures(run)).toEqual(["465 implicit-tls"]);
    expect(status(run, 465, "implicit-tls")?.detail).toBe("connection refused");
    expect(run.rows.filter((r) => r.port === 587).every((r) => r.status === "PASS")).toBe(true);
  }, 300_000);

  it("reports a stopped Postfix as findings on every port, not as a crash", async () => {
    await hostRoot(sb, "systemctl stop postfix");
    const started = Date.now();
    const run = await verify([...target(), "--json"]);
    findings(run, "Postfix stopped");
    expect(run.code).toBe(1);
    expect(run.rows.map((r) => [r.port, r.check, r.status, r.detail])).toEqual([
      [465, "implicit-tls", "FAIL", "connection refused"],
      [587, "connect", "FAIL", "connection refused"],
      [25, "no-auth-on-25", "SKIP", "port 25 does not answer (connection refused)"],
    ]);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 120_000);
});
