/**
 * RFC 8314 submission on real Debian hosts, seen by real clients. Each release gets a fresh sandbox host whose
 * operator firewall drops all input but SSH. The steps are applied over SSH exactly as the component's
 * remote.Commands would run them (test/e2e/support/apply.ts): no Pulumi engine can be built on this machine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certificateFacts } from "../../components/certificate";
import { applyHost, changedSteps, destroyHost, StepFailed, transcript } from "./support/apply";
import { makePki } from "./support/pki";
import { configFingerprint, delivered, hostRoot, openSecured, submit, tcpState, testssl } from "./support/probes";
import { downHost, sshExec, upHost, type Release, type SandboxHost } from "./support/sandbox";
import { ALICE, BOB, HOSTNAME, hostConfig, tlsFor } from "./support/scenario";
import { SmtpSession, tryTlsHandshake } from "./support/smtp";

const releases: [Release, "root" | "deploy"][] = [
  ["bookworm", "root"],
  ["trixie", "deploy"], // a NOPASSWD sudoer: every step goes through sudo -n
];

describe.each(releases)("Debian %s, SSH user %s (component steps over SSH, no engine)", (release, user) => {
  const pki = makePki();
  let cert = pki.issue(HOSTNAME);
  let sb: SandboxHost;
  let config: Record<string, unknown>;
  let baseline: Record<string, string>;
  const tls = tlsFor(pki);
  const at = (port: 465 | 587) => ({ host: sb.address, port, tls });
  const mail = (port: 465 | 587, mechanism: "PLAIN" | "LOGIN", subject: string, who = ALICE) =>
    submit(at(port), { user: who.name, password: who.password, mechanism, from: who.name, to: `root@${HOSTNAME}`, subject });

  beforeAll(async () => {
    sb = await upHost(`e2e-${release}`, { release, user, firewall: "nftables-drop" });
    config = hostConfig(sb, cert);
    // Packages stay after destroy; everything else must come back as it is now.
    await applyHost(sb, config, ["packages"]);
    baseline = await configFingerprint(sb);
  }, 600_000);

  afterAll(async () => {
    if (sb) await downHost(sb.name);
  }, 120_000);

  it("keeps 465 and 587 closed before the product runs (operator policy drop)", async () => {
    expect(await tcpState(sb.address, 465)).toBe("filtered");
    expect(await tcpState(sb.address, 22)).toBe("open");
  });

  it("converges a fresh host, and the check step confirms what clients will see", async () => {
    const runs = await applyHost(sb, config);
    expect(runs.firewall.stdout).toBe("backend=nftables\n");
    expect(runs.check.stdout).toMatch(/^ok 465 implicit TLS, certificate [0-9a-f]{64}, AUTH offered\nok 587 STARTTLS offered, no AUTH before it, AUTH after it\n$/);
  }, 300_000);

  it("changes nothing on a second run: no step's input differs, and each step finds nothing to do", async () => {
    expect(changedSteps(config, hostConfig(sb, cert))).toEqual([]);
    const before = await configFingerprint(sb);
    const runs = await applyHost(sb, config);
    expect(runs.certificate.stderr).toContain("certificate unchanged");
    expect(runs.dovecot.stderr).toContain("Dovecot configuration unchanged");
    expect(runs.postfix.stderr).toContain("Postfix configuration unchanged");
    expect(await configFingerprint(sb)).toEqual(before);
  }, 300_000);

  it("465: TLS from the first byte, a chain that verifies for the hostname, AUTH only inside", async () => {
    const s = await SmtpSession.connect({ host: sb.address, port: 465, implicitTls: true, tls });
    const info = s.tlsInfo();
    expect(info.authorized).toBe(true);
    expect(info.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(s.greeting.code).toBe(220);
    await s.ehlo();
    expect(s.authMechanisms().sort()).toEqual(["LOGIN", "PLAIN"]);
    await s.quit();
  });

  it.each([465, 587] as const)("%d refuses TLS 1.0 and 1.1, which this client can speak", async (port) => {
    for (const version of ["TLSv1", "TLSv1.1"] as const) {
      const r = await tryTlsHandshake({ host: sb.address, port, starttls: port === 587, minVersion: version, maxVersion: version, servername: HOSTNAME });
      expect(r.ok, `${version} on ${port}`).toBe(false);
    }
    const ok = await tryTlsHandshake({ host: sb.address, port, starttls: port === 587, minVersion: "TLSv1.2", maxVersion: "TLSv1.2", servername: HOSTNAME });
    expect(ok).toMatchObject({ ok: true, protocol: "TLSv1.2" });
  });

  it.each([
    [465, "PLAIN"],
    [465, "LOGIN"],
    [587, "PLAIN"],
    [587, "LOGIN"],
  ] as const)("%d: AUTH %s with the right password submits a message that is delivered", async (port, mechanism) => {
    const subject = `e2e ${release} ${port} ${mechanism} ${Date.now()}`;
    const r = await mail(port, mechanism, subject);
    expect(r.auth.code).toBe(235);
    expect(r.end?.code).toBe(250);
    expect(r.end?.text).toMatch(/^2\.0\.0 Ok: queued as [0-9A-F]+$/);
    const message = await delivered(sb, subject);
    expect(message).toBeDefined();
    // Header privacy: the submitting client's address is nowhere in what was delivered.
    expect(message).not.toContain("10.231.0.1");
    expect(message).not.toMatch(/^Received: from .*ESMTPSA/m);
  });

  it.each([465, 587] as const)("%d: a wrong password is refused with 535", async (port) => {
    const r = await submit(at(port), { user: ALICE.name, password: "wrong", mechanism: "PLAIN", from: ALICE.name, to: `root@${HOSTNAME}`, subject: "x" });
    expect(r.auth.code).toBe(535);
    // A good login resets Dovecot's failure penalty for the tests that follow.
    expect((await mail(port, "PLAIN", `reset ${Date.now()}`)).auth.code).toBe(235);
  });

  it("587: before STARTTLS, STARTTLS offered, no AUTH, MAIL FROM refused; after it, AUTH", async () => {
    const s = await SmtpSession.connect({ host: sb.address, port: 587 });
    await s.ehlo();
    expect(s.hasCapability("STARTTLS")).toBe(true);
    expect(s.authMechanisms()).toEqual([]);
    const mailFrom = await s.command(`MAIL FROM:<${ALICE.name}>`);
    expect(mailFrom.code).toBe(530);
    expect(mailFrom.text).toContain("Must issue a STARTTLS command first");
    await s.startTls(tls);
    await s.ehlo();
    expect(s.tlsInfo().authorized).toBe(true);
    expect(s.authMechanisms().sort()).toEqual(["LOGIN", "PLAIN"]);
    await s.quit();
  });

  it("refuses mail without AUTH on every port, and port 25 offers no AUTH", async () => {
    for (const port of [465, 587] as const) {
      const s = await openSecured(at(port));
      const r = await s.sendMail({ from: "someone@example.net", to: ["victim@example.org"], data: "x" });
      expect(r.rcpt[0]?.code, `port ${port}`).toBe(554);
      await s.quit();
    }
    // Port 25 is behind the operator's firewall, so it is asked from the host itself, from its bridge address
    // rather than loopback (which is in Debian's mynetworks and may relay). Postfix 3.10 refuses talk before its
    // greeting, so the client waits for it; after EHLO it may pipeline.
    const smtp = await hostRoot(
      sb,
      `exec 3<>/dev/tcp/${sb.address}/25; IFS= read -r greeting <&3; printf 'EHLO probe\\r\\n' >&3; sleep 1; ` +
        `printf 'MAIL FROM:<a@example.net>\\r\\nRCPT TO:<b@example.org>\\r\\nQUIT\\r\\n' >&3; timeout 10 cat <&3 | tr -d '\\r'`,
    );
    expect(smtp).toMatch(/^250[- ]PIPELINING/m);
    expect(smtp).not.toMatch(/^250[- ]AUTH/m);
    expect(smtp).toMatch(/^454 4\.7\.1 <b@example\.org>: Relay access denied/m);
  });

  it("refuses a system account with a valid password (passwd-file backend)", async () => {
    await hostRoot(sb, "id sysuser >/dev/null 2>&1 || useradd -m sysuser; chpasswd", "sysuser:Sys-Pw-91d2\n");
    const r = await submit(at(587), { user: "sysuser", password: "Sys-Pw-91d2", mechanism: "PLAIN", from: "sysuser@sandbox.test", to: `root@${HOSTNAME}`, subject: "x" });
    expect(r.auth.code).toBe(535);
  });

  it("refuses a sender address that does not belong to the login", async () => {
    const s = await openSecured(at(587));
    expect((await s.authPlain(ALICE.name, ALICE.password)).code).toBe(235);
    const r = await s.sendMail({ from: "ceo@sandbox.test", to: [`root@${HOSTNAME}`], data: "x" });
    expect(r.rcpt[0]?.code).toBe(553);
    expect(r.rcpt[0]?.text).toBe("5.7.1 <ceo@sandbox.test>: Sender address rejected: not owned by user alice@sandbox.test");
    await s.quit();
  });

  it.each([
    [465, false],
    [587, true],
  ] as const)("testssl.sh on %d: no SSLv2/3, TLS 1.0/1.1, NULL, export or weak ciphers; server order", async (port, starttls) => {
    const report = await testssl(sb.address, HOSTNAME, port, starttls);
    console.log(`testssl.sh ${release} ${port}\n${report}`);
    for (const line of [/SSLv2\s+not offered/, /SSLv3\s+not offered/, /TLS 1\s+not offered/, /TLS 1\.1\s+not offered/, /TLS 1\.2\s+offered/,
      /NULL ciphers \(no encryption\)\s+not offered/, /Anonymous NULL Ciphers \(no authentication\)\s+not offered/, /Export ciphers.*not offered/,
      /LOW: 64 Bit \+ DES.*not offered/, /Triple DES Ciphers \/ IDEA\s+not offered/, /Has server cipher order\?\s+yes/]) {
      expect(report).toMatch(line);
    }
  }, 300_000);

  it("keeps SSH and the operator's rules, and opened 465/587 inside their chain", async () => {
    const ruleset = await hostRoot(sb, "nft list ruleset");
    expect(ruleset).toMatch(/policy drop;/);
    expect(ruleset).toContain('tcp dport 465 accept comment "mail-submission"');
    expect(ruleset).toMatch(/tcp dport 22 accept/);
    expect(await tcpState(sb.address, 22)).toBe("open");
    // The openings survive a reload of the operator's ruleset (which starts with `flush ruleset`).
    await hostRoot(sb, "systemctl reload nftables");
    expect(await tcpState(sb.address, 587)).toBe("open");
  });

  it("rotates the certificate: only that step (and the check) re-runs, and the new one is served", async () => {
    const next = pki.issue(HOSTNAME);
    const rotated = hostConfig(sb, next);
    expect(changedSteps(config, rotated)).toEqual(["certificate", "check"]);
    const runs = await applyHost(sb, rotated, changedSteps(config, rotated));
    expect(runs.check.stdout).toContain("ok 465");
    const s = await SmtpSession.connect({ host: sb.address, port: 465, implicitTls: true, tls });
    expect(s.tlsInfo().fingerprint256.replaceAll(":", "").toLowerCase()).toBe(certificateFacts(next.chainPem).sha256);
    await s.quit();
    [cert, config] = [next, rotated];
  });

  it("adds a user: Dovecot and Postfix steps re-run, and the new user can submit", async () => {
    const more = { ...config, users: [ALICE, BOB] };
    const steps = changedSteps(config, more);
    expect(steps).toEqual(["dovecot", "postfix", "check"]);
    await applyHost(sb, more, steps);
    config = more;
    expect((await mail(465, "PLAIN", `bob ${Date.now()}`, BOB)).auth.code).toBe(235);
  });

  it.each([
    ["doveconf", { dovecotExtraConfig: "no_such_setting = 1" }, "dovecot", /doveconf: Fatal: Error in configuration file \/etc\/dovecot\/conf\.d\/99-mail-submission\.conf line \d+: .*Unknown setting: no_such_setting/],
    ["smtpd", { postfixExtraSettings: { smtpd_tls_chain_files: "/nonexistent.pem" } }, "postfix", /port 465 did not complete a TLS handshake\. Postfix says: .*nonexistent\.pem/s],
  ] as const)("rolls back a change that %s rejects, and mail keeps flowing", async (_tool, change, step, message) => {
    const before = await configFingerprint(sb);
    const broken = { ...config, ...change };
    const err = await applyHost(sb, broken, changedSteps(config, broken)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).run.step).toBe(step);
    expect((err as StepFailed).run.stderr).toMatch(message);
    expect((err as StepFailed).run.stderr).toContain("back in place");
    expect(await configFingerprint(sb)).toEqual(before);
    for (const port of [465, 587] as const) expect((await mail(port, "PLAIN", `after rollback ${Date.now()}`)).end?.code).toBe(250);
  }, 120_000);

  it("destroy gives the host back: config byte for byte, ports closed, SSH and operator rules intact", async () => {
    await destroyHost(sb, config);
    expect(await configFingerprint(sb)).toEqual(baseline);
    expect(await tcpState(sb.address, 465)).toBe("filtered");
    expect(await tcpState(sb.address, 22)).toBe("open");
    const ruleset = await hostRoot(sb, "nft list ruleset");
    expect(ruleset).not.toContain("mail-submission");
    expect(ruleset).toMatch(/tcp dport 22 accept/);
    const ports = await sshExec(sb, "ss -Htln");
    expect(ports.stdout).not.toMatch(/:(465|587)\s/);
  }, 120_000);

  it("never let a secret into the steps' output", () => {
    const all = transcript.join("\n");
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [ALICE.password, BOB.password, "BEGIN PRIVATE KEY", cert.keyPem.split("\n")[1] ?? "?", "{SHA512-CRYPT}"]) {
      expect(all).not.toContain(secret);
    }
  });
});
