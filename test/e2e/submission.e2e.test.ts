/**
 * RFC 8314 submission on real Debian hosts, deployed with `pulumi up` of this project's program and seen by real
 * clients. Each release gets a fresh sandbox host whose operator firewall drops all input but SSH; Debian 12 gets
 * its certificate from the tls provider (`ca` mode), Debian 13 from files (`provided`) and a sudoer for SSH.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authMechanisms, hasExtension, replyText } from "../../verify/smtp";
import type { EngineStack } from "../harness/engine";
import { makePki } from "../harness/pki";
import { configFingerprint, delivered, handshakeAt, hostRoot, installMailPackages, listening, openSecured, openSession, submit, tcpState, testssl, TESTSSL_CLEAN } from "../harness/probes";
import { downHost, sshExec, upHost, type Release, type SandboxHost } from "../harness/sandbox";
import { ALICE, BOB, HOSTNAME, reconfigure, sshLogins, stackCa, stackFor, tlsFor, type HostSpec } from "../harness/scenario";

/** The values of a message's header fields named `name`, unfolded (RFC 5322 §2.2.3), from its header section only. */
function headers(message: string, name: string): string[] {
  const head = message.replace(/\r\n/g, "\n").split("\n\n")[0] ?? "";
  const unfolded = head.replace(/\n[ \t]+/g, " ").split("\n");
  return unfolded.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((l) => l.slice(name.length + 1).trim());
}

/** The SHA-256 of a PEM chain's first certificate, as the session reports it: lower-case hex without colons. */
const sha256Of = (pem: string): string => new X509Certificate(pem).fingerprint256.replaceAll(":", "").toLowerCase();

/**
 * Debian 12: a fresh host, so destroy takes out the packages the component installed. Debian 13: the operator had
 * Postfix and Dovecot already, so destroy must give their configuration back byte for byte and keep the packages.
 */
const cases: [Release, "root" | "deploy", "ca" | "provided", "fresh" | "operator's packages"][] = [
  ["bookworm", "root", "ca", "fresh"],
  ["trixie", "deploy", "provided", "operator's packages"], // a NOPASSWD sudoer: every step goes through sudo -n
];

describe.each(cases)("Debian %s, SSH user %s, %s certificate, %s host, through pulumi up", (release, user, mode, start) => {
  const pki = makePki();
  let sb: SandboxHost;
  let stack: EngineStack;
  let spec: HostSpec;
  let ca: string;
  let before: { config: Record<string, string>; sockets: string[] };
  const tls = () => tlsFor(ca);
  const at = (port: 465 | 587) => ({ host: sb.address, port, tls: tls() });
  const mail = (port: 465 | 587, mechanism: "PLAIN" | "LOGIN", subject: string, who = ALICE) =>
    submit(at(port), { user: who.name, password: who.password, mechanism, from: who.name, to: `root@${HOSTNAME}`, subject });
  const served = async () => {
    const s = await openSession(sb.address, 465, tls());
    const { sha256 } = s.tlsInfo();
    await s.quit();
    return sha256;
  };

  beforeAll(async () => {
    sb = await upHost(`e2e-${release}`, { release, user, firewall: "nftables-drop" });
    if (start === "operator's packages") {
      await installMailPackages(sb);
      // As real main.cf files often are: a parameter set again further down, which Postfix runs with (and warns about).
      await hostRoot(sb, "printf '%s\\n' 'smtpd_banner = $myhostname ESMTP operator' >>/etc/postfix/main.cf && postfix reload");
    }
    before = { config: await configFingerprint(sb), sockets: await listening(sb) };
    spec = { certificate: mode === "ca" ? { mode: "ca" } : { mode: "provided", ...pki.issue(HOSTNAME) } };
    stack = await stackFor(release, sb, spec);
  }, 600_000);

  afterAll(async () => {
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("keeps 465 and 587 closed before the product runs (operator policy drop)", async () => {
    expect(await tcpState(sb.address, 465)).toBe("filtered");
    expect(await tcpState(sb.address, 22)).toBe("open");
  });

  it("converges a fresh host with one pulumi up, and the check step confirms what clients will see", async () => {
    const run = await stack.up();
    expect(run.changes.create).toBeGreaterThanOrEqual(6);
    // A warning about the host's own main.cf is passed on, not taken for an error.
    if (start === "operator's packages") expect(run.output).toMatch(/postfix step: Postfix warns about the host's own configuration: .*overriding earlier entry: smtpd_banner=/);
    const hosts = (await stack.outputs()).hosts as Record<string, { firewallBackend: string; certificateSha256: string }>;
    expect(hosts[sb.name]?.firewallBackend).toBe("nftables");
    ca = mode === "ca" ? await stackCa(stack, sb.name) : pki.caCertPem;
    expect(await served()).toBe(hosts[sb.name]?.certificateSha256);
  }, 600_000);

  it("then has nothing to do: preview --expect-no-changes passes, and a second up runs no command on the host", async () => {
    expect((await stack.preview({ expectNoChanges: true })).ok).toBe(true);
    const config = await configFingerprint(sb);
    const start = Date.now();
    const run = await stack.up();
    const end = Date.now();
    expect(run.changes).toEqual({ same: expect.any(Number) });
    expect(await sshLogins(sb, start, end)).toBe(0);
    expect(await configFingerprint(sb)).toEqual(config);
  }, 300_000);

  it("keeps every secret out of the state: no password, SSH key, TLS key or password hash in plain text", async () => {
    const state = await stack.exportText();
    expect(state.length).toBeGreaterThan(10_000);
    const sshKey = readFileSync(sb.privateKeyPath, "utf8");
    const tlsKey = await hostRoot(sb, "cat /etc/mail-submission/tls/privkey.pem");
    const hash = (await hostRoot(sb, "cat /etc/mail-submission/dovecot/users")).split(":")[1]?.trim() ?? "?";
    for (const secret of [ALICE.password, sshKey.split("\n")[1] ?? "?", tlsKey.split("\n")[1] ?? "?", hash, "{SHA512-CRYPT}", "PRIVATE KEY"]) {
      expect(state).not.toContain(secret);
    }
    expect(state).toMatch(/"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",\s*"ciphertext": "v1:/); // encrypted secrets
  });

  it("465: TLS from the first byte, a chain that verifies for the hostname, AUTH only inside", async () => {
    const s = await openSession(sb.address, 465, tls());
    const info = s.tlsInfo();
    expect(info.authorized).toBe(true);
    expect(info.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(s.greeting.code).toBe(220);
    expect(authMechanisms(await s.ehlo()).sort()).toEqual(["LOGIN", "PLAIN"]);
    await s.quit();
  });

  it.each([465, 587] as const)("%d refuses TLS 1.0 and 1.1, which this client can speak", async (port) => {
    for (const version of ["TLSv1", "TLSv1.1"] as const) {
      const r = await handshakeAt(sb.address, port, HOSTNAME, version);
      expect(r.ok, `${version} on ${port}`).toBe(false);
    }
    const ok = await handshakeAt(sb.address, port, HOSTNAME, "TLSv1.2");
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
    expect(r.end && replyText(r.end)).toMatch(/^2\.0\.0 Ok: queued as [0-9A-F]+$/);
    const message = await delivered(sb, subject);
    expect(message).toBeDefined();
    // Header privacy: the submitting client's address is nowhere in what was delivered.
    expect(message).not.toContain("10.231.0.1");
    // RFC 8314 §4.3: the authenticated hop's Received header is there, without its from clause, with TLS recorded.
    const hop = headers(message ?? "", "Received").find((h) => /\swith ESMTPSA\s/.test(h));
    expect(hop, "the authenticated hop's Received header").toBeDefined();
    expect(hop).not.toMatch(/^from\s/);
    expect(hop).toMatch(/\(using TLSv1\.[23] with cipher \S+/);
    expect(hop).toMatch(/\bby \S+ \(Postfix\) with ESMTPSA id [0-9A-Za-z]+/);
    expect(hop).toMatch(/; \w{3}, +\d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}/);
  });

  it.each([465, 587] as const)("%d: a bare LF never ends the data (SMTP smuggling): it is read as a line end inside the message", async (port) => {
    const id = `${release}-${port}-${Date.now()}`;
    const session = await openSecured(at(port));
    try {
      expect((await session.authPlain(ALICE.name, ALICE.password)).code).toBe(235);
      expect((await session.command(`MAIL FROM:<${ALICE.name}>`, "MAIL FROM")).code).toBe(250);
      expect((await session.command(`RCPT TO:<root@${HOSTNAME}>`, "RCPT TO")).code).toBe(250);
      expect((await session.command("DATA", "DATA")).code).toBe(354);
      // The smuggling shape: "<LF>.<LF>" (or "<LF>.<CR><LF>"), then a second transaction, then the real end of data.
      const smuggled = `MAIL FROM:<${ALICE.name}>\r\nRCPT TO:<root@${HOSTNAME}>\r\nDATA\r\nSubject: smuggled ${id}\r\n\r\nhidden\r\n`;
      const end = await session.writeDataAsIs(`Subject: carrier ${id}\r\n\r\nfirst\n.\n${smuggled}.\r\n`);
      expect(end.code).toBe(250);
    } finally {
      await session.quit();
    }
    const carrier = await delivered(sb, `carrier ${id}`);
    expect(carrier).toBeDefined();
    expect(carrier).toContain("MAIL FROM:");
    expect(carrier).toContain("hidden");
    // No second message: the smuggled Subject is only ever body text of the carrier.
    const mbox = await hostRoot(sb, "cat /var/mail/root");
    const asMessage = mbox.split(/\nFrom /).filter((m) => headers(m, "Subject").some((h) => h === `smuggled ${id}`));
    expect(asMessage).toEqual([]);
  });

  it.each([465, 587] as const)("%d: a wrong password is refused with 535", async (port) => {
    const r = await submit(at(port), { user: ALICE.name, password: "wrong", mechanism: "PLAIN", from: ALICE.name, to: `root@${HOSTNAME}`, subject: "x" });
    expect(r.auth.code).toBe(535);
    // A good login resets Dovecot's failure penalty for the tests that follow.
    expect((await mail(port, "PLAIN", `reset ${Date.now()}`)).auth.code).toBe(235);
  });

  it("587: before STARTTLS, STARTTLS offered, no AUTH, MAIL FROM refused; after it, AUTH", async () => {
    const s = await openSession(sb.address, 587);
    const clear = await s.ehlo();
    expect(hasExtension(clear, "STARTTLS")).toBe(true);
    expect(authMechanisms(clear)).toEqual([]);
    const mailFrom = await s.command(`MAIL FROM:<${ALICE.name}>`, "MAIL FROM");
    expect(mailFrom.code).toBe(530);
    expect(replyText(mailFrom)).toContain("Must issue a STARTTLS command first");
    await s.startTls(tls());
    const secured = await s.ehlo();
    expect(s.tlsInfo().authorized).toBe(true);
    expect(authMechanisms(secured).sort()).toEqual(["LOGIN", "PLAIN"]);
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
    expect(r.rcpt[0] && replyText(r.rcpt[0])).toBe("5.7.1 <ceo@sandbox.test>: Sender address rejected: not owned by user alice@sandbox.test");
    await s.quit();
  });

  it.each([
    [465, false],
    [587, true],
  ] as const)("testssl.sh on %d: no SSLv2/3, TLS 1.0/1.1, NULL, export or weak ciphers; server order", async (port, starttls) => {
    const report = await testssl(sb.address, HOSTNAME, port, starttls, `${release}-${port}`);
    for (const line of TESTSSL_CLEAN) expect(report).toMatch(line);
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

  it("rotates the certificate: the new one is served, and only the certificate step and the check re-run", async () => {
    const fingerprint = await served();
    if (mode === "ca") {
      spec = { ...spec, certificate: { mode: "ca", validityHours: 24 * 200 } };
    } else {
      spec = { ...spec, certificate: { mode: "provided", ...pki.issue(HOSTNAME) } };
    }
    await reconfigure(stack, sb, spec);
    const preview = await stack.preview();
    expect(preview.output).toMatch(new RegExp(`${sb.name}-certificate update`));
    expect(preview.output).not.toMatch(new RegExp(`${sb.name}-(postfix|dovecot|packages|firewall) update`));
    const run = await stack.up();
    expect(run.output).toMatch(new RegExp(`${sb.name}-check updated`));
    const now = await served();
    expect(now).not.toBe(fingerprint);
    const hosts = (await stack.outputs()).hosts as Record<string, { certificateSha256: string }>;
    expect(now).toBe(hosts[sb.name]?.certificateSha256);
    if (mode === "provided") expect(now).toBe(sha256Of((spec.certificate as { chainPem: string }).chainPem));
  }, 300_000);

  it("adds a user: Dovecot and Postfix steps re-run, and the new user can submit", async () => {
    spec = { ...spec, users: [ALICE, BOB] };
    await reconfigure(stack, sb, spec);
    const run = await stack.up();
    for (const step of ["dovecot", "postfix", "check"]) expect(run.output).toMatch(new RegExp(`${sb.name}-${step} updated`));
    expect(run.output).not.toMatch(new RegExp(`${sb.name}-(certificate|packages|firewall) updated`));
    expect((await mail(465, "PLAIN", `bob ${Date.now()}`, BOB)).auth.code).toBe(235);
  }, 300_000);

  it.each([
    ["doveconf", { dovecotExtraConfig: "no_such_setting = 1" }, "dovecot", /doveconf rejected the new configuration; the live configuration was not changed[\s\S]*Unknown setting: no_such_setting/],
    ["smtpd", { postfixExtraSettings: { smtpd_delay_reject: "maybe" } }, "postfix", /failed their rehearsal on loopback[\s\S]*fatal: bad boolean configuration: smtpd_delay_reject = maybe/],
  ] as const)("a change that %s rejects fails up with its reason first, and the previous configuration keeps serving", async (_tool, change, step, message) => {
    const config = await configFingerprint(sb);
    await reconfigure(stack, sb, { ...spec, extra: change });
    const r = await stack.upFailing();
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(new RegExp(`mail-submission ${step} on ${sb.name}: `));
    expect(r.output).toMatch(message);
    expect(await configFingerprint(sb)).toEqual(config);
    for (const port of [465, 587] as const) expect((await mail(port, "PLAIN", `after rejection ${Date.now()}`)).end?.code).toBe(250);
    // Corrected, the next up converges.
    await reconfigure(stack, sb, spec);
    await stack.up();
    expect((await stack.preview({ expectNoChanges: true })).ok).toBe(true);
  }, 300_000);

  it("destroy gives the host back: the same listening sockets, the operator's configuration byte for byte", async () => {
    await stack.destroy();
    expect(await listening(sb)).toEqual(before.sockets);
    if (start === "fresh") {
      // The packages the component installed are removed (apt-get remove keeps Debian's own config files).
      expect((await sshExec(sb, "test -e /usr/sbin/postconf || echo gone")).stdout.trim()).toBe("gone");
      expect(await hostRoot(sb, "ls -d /etc/mail-submission /var/lib/mail-submission /usr/local/lib/mail-submission 2>/dev/null || true")).toBe("");
    } else {
      expect(await configFingerprint(sb)).toEqual(before.config);
      expect((await sshExec(sb, "test -x /usr/sbin/postconf && echo kept")).stdout.trim()).toBe("kept");
    }
    expect(await tcpState(sb.address, 465)).toBe("filtered");
    expect(await tcpState(sb.address, 22)).toBe("open");
    const ruleset = await hostRoot(sb, "nft list ruleset");
    expect(ruleset).not.toContain("mail-submission");
    expect(ruleset).toMatch(/tcp dport 22 accept/);
    expect((await sshExec(sb, "command -v postconf || echo gone")).stdout.trim()).toBe("gone");
  }, 300_000);
});
