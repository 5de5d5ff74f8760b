/**
 * Negative controls: the same client checks and the check step, against hosts where they must fail. Without these
 * a check that can never fail would pass unnoticed. One host is deliberately weakened (587 at security level "may",
 * as in FIELD-NOTES), one runs ufw instead of nftables.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyHost, destroyHost, StepFailed } from "./support/apply";
import { makePki } from "./support/pki";
import { hostRoot, tcpState } from "./support/probes";
import { downHost, upHost, type SandboxHost } from "./support/sandbox";
import { ALICE, HOSTNAME, hostConfig, tlsFor } from "./support/scenario";
import { SmtpSession, tryTlsHandshake } from "./support/smtp";

describe("a host whose 587 is weakened to opportunistic TLS (component steps over SSH, no engine)", () => {
  const pki = makePki();
  let sb: SandboxHost;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    sb = await upHost("e2e-weak", { release: "bookworm" });
    const weak = { smtpd_tls_security_level: "may", smtpd_tls_auth_only: "no", smtpd_tls_protocols: "", smtpd_tls_ciphers: "medium" };
    config = hostConfig(sb, pki.issue(HOSTNAME), { postfixExtraSettings: weak });
    await applyHost(sb, config, ["packages", "certificate", "dovecot", "postfix", "firewall"]);
  }, 600_000);

  afterAll(async () => {
    if (sb) await downHost(sb.name);
  }, 120_000);

  it("the check step fails the run, naming what is wrong", async () => {
    const err = await applyHost(sb, config, ["check"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).run.stderr).toContain("FAILED: 587: AUTH offered before STARTTLS");
    expect((err as StepFailed).run.stderr).toContain("does not behave as configured");
  });

  it("the client sees AUTH before STARTTLS, and MAIL FROM accepted in clear", async () => {
    const s = await SmtpSession.connect({ host: sb.address, port: 587 });
    await s.ehlo();
    expect(s.authMechanisms().sort()).toEqual(["LOGIN", "PLAIN"]);
    expect((await s.command(`MAIL FROM:<${ALICE.name}>`)).code).toBe(250);
    await s.quit();
  });

  it("the protocol probe sees TLS 1.1 accepted", async () => {
    const r = await tryTlsHandshake({ host: sb.address, port: 587, starttls: true, minVersion: "TLSv1.1", maxVersion: "TLSv1.1", servername: HOSTNAME });
    expect(r).toMatchObject({ ok: true, protocol: "TLSv1.1" });
  });

  it("a chain from another CA does not verify", async () => {
    const s = await SmtpSession.connect({ host: sb.address, port: 465, implicitTls: true, tls: { ...tlsFor(makePki("another CA")), rejectUnauthorized: false } });
    expect(s.tlsInfo().authorized).toBe(false);
    expect(s.tlsInfo().authorizationError).toBeTruthy();
    await s.quit();
  });
});

describe("a host with ufw (component steps over SSH, no engine)", () => {
  const pki = makePki();
  let sb: SandboxHost;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    sb = await upHost("e2e-ufw", { release: "bookworm", firewall: "ufw" });
    config = hostConfig(sb, pki.issue(HOSTNAME));
  }, 600_000);

  afterAll(async () => {
    if (sb) await downHost(sb.name);
  }, 120_000);

  it("is closed on 465/587 before, opened by the product with ufw rules, and closed again by destroy", async () => {
    expect(await tcpState(sb.address, 465)).toBe("filtered");
    const runs = await applyHost(sb, config);
    expect(runs.firewall.stdout).toBe("backend=ufw\n");
    const status = await hostRoot(sb, "ufw status");
    expect(status).toMatch(/^465\/tcp\s+ALLOW\s+Anywhere\s*$/m);
    expect(status).toMatch(/^587\/tcp \(v6\)\s+ALLOW\s+Anywhere \(v6\)\s*$/m);
    expect(status).toMatch(/^22\/tcp\s+ALLOW/m);
    expect(await tcpState(sb.address, 465)).toBe("open");
    expect(await tcpState(sb.address, 587)).toBe("open");

    await destroyHost(sb, config);
    const after = await hostRoot(sb, "ufw status");
    expect(after).not.toMatch(/^(465|587)\//m);
    expect(after).toMatch(/^22\/tcp\s+ALLOW/m);
    expect(await tcpState(sb.address, 465)).toBe("filtered");
    expect(await tcpState(sb.address, 22)).toBe("open");
  }, 300_000);
});

describe("a host with firewalld (component steps over SSH, no engine)", () => {
  const pki = makePki();
  let sb: SandboxHost;

  beforeAll(async () => {
    sb = await upHost("e2e-firewalld", { release: "trixie", firewall: "firewalld" });
  }, 600_000);

  afterAll(async () => {
    if (sb) await downHost(sb.name);
  }, 120_000);

  it("is detected, opened only from the allowed sources, and closed again by destroy", async () => {
    // 465 for everyone; 587 only from a network this machine is not in, so it must stay filtered from here.
    const config = hostConfig(sb, pki.issue(HOSTNAME), { firewall: { allow: { submission: ["198.51.100.0/24"] } } });
    expect(await tcpState(sb.address, 465)).toBe("filtered");
    const runs = await applyHost(sb, config);
    expect(runs.firewall.stdout).toBe("backend=firewalld\n");
    expect(await hostRoot(sb, "firewall-cmd --list-ports")).toContain("465/tcp");
    expect(await hostRoot(sb, "firewall-cmd --list-rich-rules")).toContain('source address="198.51.100.0/24" port port="587" protocol="tcp" accept');
    expect(await tcpState(sb.address, 465)).toBe("open");
    expect(await tcpState(sb.address, 587)).toBe("filtered");

    await destroyHost(sb, config);
    expect((await hostRoot(sb, "firewall-cmd --list-ports; firewall-cmd --list-rich-rules")).trim()).toBe("");
    expect(await tcpState(sb.address, 465)).toBe("filtered");
    expect(await tcpState(sb.address, 22)).toBe("open");
  }, 300_000);
});
