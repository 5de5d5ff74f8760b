/**
 * Negative controls and other firewalls, through `pulumi up`. A host weakened by hand (the component itself refuses
 * to weaken one) must fail the check step and the client probes; without this, a check that can never fail would
 * pass unnoticed. Two more hosts run ufw and firewalld instead of nftables; on the firewalld host a ban is a rich rule.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineStack } from "../harness/engine";
import { makePki } from "../harness/pki";
import { handshakeAt, hostRoot, openSession, tcpState } from "../harness/probes";
import { downHost, upHost, type SandboxHost } from "../harness/sandbox";
import { ALICE, HOSTNAME, reconfigure, stackFor, tlsFor } from "../harness/scenario";
import { authMechanisms } from "../../verify/smtp";
import { fail2banPaths, HOST_PATHS } from "../../components/host/contract";

describe("a host weakened by hand after pulumi up", () => {
  const pki = makePki();
  let sb: SandboxHost;
  let stack: EngineStack;

  beforeAll(async () => {
    sb = await upHost("e2e-weak", { release: "bookworm" });
    stack = await stackFor("weak", sb, { certificate: { mode: "provided", ...pki.issue(HOSTNAME) } });
    await stack.up();
    // What a careless admin might do on the host: 587 back to opportunistic TLS, old protocols and ciphers.
    await hostRoot(
      sb,
      "postconf -P 0.0.0.0:587/inet/smtpd_tls_security_level=may 0.0.0.0:587/inet/smtpd_tls_auth_only=no 0.0.0.0:587/inet/smtpd_tls_protocols= " +
        "0.0.0.0:587/inet/smtpd_tls_mandatory_protocols='!SSLv2,!SSLv3' 0.0.0.0:587/inet/smtpd_tls_ciphers=medium 0.0.0.0:587/inet/smtpd_tls_mandatory_ciphers=medium && postfix reload",
    );
  }, 600_000);

  afterAll(async () => {
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("the client sees AUTH before STARTTLS, and MAIL FROM accepted in clear", async () => {
    const s = await openSession(sb.address, 587);
    expect(authMechanisms(await s.ehlo()).sort()).toEqual(["LOGIN", "PLAIN"]);
    expect((await s.command(`MAIL FROM:<${ALICE.name}>`, "MAIL FROM")).code).toBe(250);
    await s.quit();
  });

  it("the protocol probe sees TLS 1.1 accepted", async () => {
    const r = await handshakeAt(sb.address, 587, HOSTNAME, "TLSv1.1");
    expect(r).toMatchObject({ ok: true, protocol: "TLSv1.1" });
  });

  it("the check step fails up, naming each weakened setting and what a client sees", async () => {
    const r = await stack.upFailing({ replace: [await stack.urn(sb.name, "check")] });
    expect(r.ok).toBe(false);
    expect(r.output).toContain(`mail-submission check on ${sb.name}: the endpoint does not keep its guarantees`);
    expect(r.output).toContain("postfix 0.0.0.0:587/inet/smtpd_tls_security_level is 'may', not 'encrypt': TLS before AUTH and MAIL");
    expect(r.output).toContain("postfix 0.0.0.0:587/inet/smtpd_tls_auth_only is 'no', not 'yes': AUTH never offered before TLS");
    expect(r.output).toContain("587: AUTH offered before STARTTLS");
    expect(r.output).toContain("587: MAIL FROM before STARTTLS was not refused with 530");
  }, 300_000);

  it("pulumi up repairs the weakened Postfix once the Postfix step runs again", async () => {
    await stack.up({ replace: [await stack.urn(sb.name, "postfix")] });
    const s = await openSession(sb.address, 587);
    expect(authMechanisms(await s.ehlo())).toEqual([]);
    await s.quit();
  }, 300_000);

  it("a Dovecot weakened by hand fails the check too", async () => {
    // Appended to our instance's configuration, so that it wins over our own line.
    const conf = "/etc/mail-submission/dovecot/dovecot.conf";
    await hostRoot(sb, `cp ${conf} /root/dovecot.conf.good && printf 'disable_plaintext_auth = no\\n' >>${conf} && systemctl reload mail-submission-dovecot`);
    const r = await stack.upFailing({ replace: [await stack.urn(sb.name, "check")] });
    expect(r.ok).toBe(false);
    expect(r.output).toContain("the endpoint does not keep its guarantees (1 problem, listed below)");
    expect(r.output).toContain("dovecot disable_plaintext_auth is 'no', not 'yes': no password before TLS");
    await hostRoot(sb, `cp /root/dovecot.conf.good ${conf} && systemctl reload mail-submission-dovecot`);
  }, 300_000);

  it("a chain from another CA does not verify", async () => {
    const s = await openSession(sb.address, 465, { ...tlsFor(makePki("another CA")), rejectUnauthorized: false });
    expect(s.tlsInfo().authorized).toBe(false);
    expect(s.tlsInfo().authorizationError).toBeTruthy();
    await s.quit();
  });
});

describe("a host with ufw, through pulumi up", () => {
  const pki = makePki();
  let sb: SandboxHost;
  let stack: EngineStack;

  beforeAll(async () => {
    sb = await upHost("e2e-ufw", { release: "bookworm", firewall: "ufw" });
    stack = await stackFor("ufw", sb, { certificate: { mode: "provided", ...pki.issue(HOSTNAME) }, extra: { packages: { onDestroy: "keep" } } });
  }, 600_000);

  afterAll(async () => {
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("is closed on 465/587 before, opened by the product with ufw rules, and closed again by destroy", async () => {
    expect(await tcpState(sb.address, 465)).toBe("filtered");
    await stack.up();
    expect(((await stack.outputs()).hosts as Record<string, { firewallBackend: string }>)[sb.name]?.firewallBackend).toBe("ufw");
    const status = await hostRoot(sb, "ufw status");
    expect(status).toMatch(/^465\/tcp\s+ALLOW\s+Anywhere\s*$/m);
    expect(status).toMatch(/^587\/tcp \(v6\)\s+ALLOW\s+Anywhere \(v6\)\s*$/m);
    expect(status).toMatch(/^22\/tcp\s+ALLOW/m);
    expect(await tcpState(sb.address, 465)).toBe("open");
    expect(await tcpState(sb.address, 587)).toBe("open");

    await stack.destroy();
    const after = await hostRoot(sb, "ufw status");
    expect(after).not.toMatch(/^(465|587)\//m);
    expect(after).toMatch(/^22\/tcp\s+ALLOW/m);
    expect(await tcpState(sb.address, 465)).toBe("filtered");
    expect(await tcpState(sb.address, 22)).toBe("open");
  }, 600_000);
});

describe("a host with firewalld, through pulumi up", () => {
  const pki = makePki();
  let sb: SandboxHost;
  let stack: EngineStack;

  beforeAll(async () => {
    sb = await upHost("e2e-firewalld", { release: "trixie", firewall: "firewalld" });
  }, 600_000);

  afterAll(async () => {
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("is detected, opened only from the allowed sources, bans go in as rich rules, changed as the sources change, and closed again by destroy", async () => {
    // 465 for everyone; 587 only from a network this machine is not in, so it must stay filtered from here.
    const spec = {
      certificate: { mode: "provided" as const, ...pki.issue(HOSTNAME) },
      extra: { firewall: { allow: { submission: ["198.51.100.0/24"] } }, bans: { enabled: true } },
    };
    stack = await stackFor("firewalld", sb, spec);
    expect(await tcpState(sb.address, 465)).toBe("filtered");
    await stack.up();
    expect(((await stack.outputs()).hosts as Record<string, { firewallBackend: string }>)[sb.name]?.firewallBackend).toBe("firewalld");
    expect(await hostRoot(sb, "firewall-cmd --list-ports")).toContain("465/tcp");
    expect(await hostRoot(sb, "firewall-cmd --list-rich-rules")).toContain('source address="198.51.100.0/24" port port="587" protocol="tcp" accept');
    expect(await tcpState(sb.address, 465)).toBe("open");
    expect(await tcpState(sb.address, 587)).toBe("filtered");

    // A ban (given by hand: the jail's own workings are test/e2e/abuse.e2e.test.ts's) is a reject rule per port we
    // serve, for each address family; its end takes the rules out again.
    const jail = (verb: string, address: string) => hostRoot(sb, `${fail2banPaths.client} -c ${HOST_PATHS.FAIL2BAN_DIR} set ${fail2banPaths.jailName} ${verb} ${address}`);
    await jail("banip", "192.0.2.77");
    await jail("banip", "2001:db8::77");
    const banned = await hostRoot(sb, "firewall-cmd --list-rich-rules");
    for (const port of [465, 587]) {
      expect(banned).toContain(`rule family="ipv4" source address="192.0.2.77" port port="${port}" protocol="tcp" reject`);
      expect(banned).toContain(`rule family="ipv6" source address="2001:db8::77" port port="${port}" protocol="tcp" reject`);
    }
    expect(banned).not.toMatch(/port="22"/);
    await jail("unbanip", "192.0.2.77");
    await jail("unbanip", "2001:db8::77");
    expect(await hostRoot(sb, "firewall-cmd --list-rich-rules")).not.toMatch(/reject/);

    // The machine's own network allowed as well: the old rule stays, a new one is added.
    await reconfigure(stack, sb, { ...spec, extra: { firewall: { allow: { submission: ["198.51.100.0/24", "10.231.0.0/24"] } } } });
    await stack.up();
    expect(await tcpState(sb.address, 587)).toBe("open");

    await stack.destroy();
    expect((await hostRoot(sb, "firewall-cmd --list-ports; firewall-cmd --list-rich-rules")).trim()).toBe("");
    expect(await tcpState(sb.address, 465)).toBe("filtered");
    expect(await tcpState(sb.address, 22)).toBe("open");
  }, 600_000);
});
