/**
 * Certificates the host obtains and renews itself (`acme`), and the host's own files (`host`), on Debian 12 and 13
 * through `pulumi up`, against Pebble (the ACME test server by Let's Encrypt's authors) on this machine, with knot
 * as the DNS that Pebble resolves through and that lego updates for dns-01 (RFC 2136, TSIG). Clients check the
 * served chain against Pebble's root with openssl. The operator's firewall drops everything but SSH, so port 80 is
 * open only while lego answers an http-01 challenge.
 */
import { X509Certificate } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_PATHS } from "../../components/host/contract";
import { startAcmeServer, type AcmeServer } from "../harness/acme";
import { ENGINE_ENV, type EngineStack } from "../harness/engine";
import { startLoad } from "../harness/load";
import { makePki } from "../harness/pki";
import { hostRoot, tcpState } from "../harness/probes";
import { downHost, sshExec, upHost, type Release, type SandboxHost } from "../harness/sandbox";
import { ALICE, HOSTNAME, reconfigure, stackFor, type HostSpec } from "../harness/scenario";
import { failures, findings, status, verify } from "../harness/verifyCli";

const RELEASES: Release[] = ["bookworm", "trixie"];
const SAN = "smtp.sandbox.test";
const ACME_UNIT = "mail-submission-acme";
// The load comes from one address; the brute-force limits must not be what it meets.
const limits = { authPerMinute: 1000, connectionsPerMinute: 10000, concurrentConnections: 100 };

interface Served {
  serial: string;
  sha256: string;
  names: string;
}

/** The certificate served on `port`, as openssl s_client sees it, the chain verified against `caFile` and the name checked. */
async function served(address: string, port: 465 | 587 | 993, caFile: string): Promise<Served> {
  const args = ["s_client", "-connect", `${address}:${port}`, "-servername", HOSTNAME, "-CAfile", caFile, "-verify_return_error", "-verify_hostname", HOSTNAME];
  if (port === 587) args.push("-starttls", "smtp");
  // Asynchronous, so that a client load in this process keeps running meanwhile; stdin at its end at once, so that
  // s_client hangs up after the handshake.
  const stdout = await new Promise<string>((done, fail) => {
    const child = execFile("openssl", args, { timeout: 15_000 }, (e, out, err) => (e ? fail(new Error(`openssl s_client on ${port}: ${err}${out}`)) : done(out)));
    child.stdin?.end();
  });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(stdout)?.[0];
  if (pem === undefined || !stdout.includes("Verify return code: 0 (ok)")) throw new Error(`no verified certificate on ${port}:\n${stdout}`);
  const leaf = new X509Certificate(pem);
  return { serial: leaf.serialNumber, sha256: leaf.fingerprint256.replaceAll(":", "").toLowerCase(), names: leaf.subjectAltName ?? "" };
}

/** Polls until every port serves a certificate other than `old`'s serial; returns the milliseconds it took. */
async function untilRenewed(address: string, oldSerial: string, caFile: string, startedAt: number): Promise<number> {
  for (;;) {
    const now = await Promise.all(([465, 587, 993] as const).map((p) => served(address, p, caFile).catch(() => undefined)));
    if (now.every((s) => s !== undefined && s.serial !== oldSerial)) return Date.now() - startedAt;
    if (Date.now() - startedAt > 120_000) throw new Error(`still serving ${oldSerial} two minutes after the renewal started: ${JSON.stringify(now)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let acme: AcmeServer;
const hosts = new Map<Release, SandboxHost>();
const timings: string[] = [];

beforeAll(async () => {
  // Both hosts boot side by side; the operator's firewall drops everything inbound but SSH.
  await Promise.all(RELEASES.map(async (release) => hosts.set(release, await upHost(`e2e-acme-${release}`, { release, firewall: "nftables-drop" }))));
  // On the hosts' bridge, which the first host brings up.
  acme = await startAcmeServer();
}, 900_000);

afterAll(async () => {
  console.log(timings.join("\n"));
  await Promise.all([...hosts.values()].map((sb) => downHost(sb.name)));
  await acme?.close();
}, 300_000);

describe.each(RELEASES)("ACME certificates on Debian %s, through pulumi up", (release) => {
  let sb: SandboxHost;
  let stack: EngineStack;
  const dir = mkdtempSync(join(tmpdir(), `e2e-acme-${release}-`));
  const rootFile = join(dir, "root.pem");
  const tsigSecret = () => [{ path: "certificate.challenge.credentials.RFC2136_TSIG_SECRET", value: acme.tsig.secret }];

  function spec(challenge: Record<string, unknown>, extraSans: string[] = []): HostSpec {
    return {
      certificate: { mode: "acme", server: acme.directory, caBundle: acme.apiCaPem, acceptTermsOfService: true, email: "hostmaster@sandbox.test", challenge },
      extra: { extraSans, limits, services: { imaps: true } },
      ...(challenge.type === "dns-01" ? { secrets: tsigSecret() } : {}),
    };
  }
  const dns01 = () => ({
    type: "dns-01",
    provider: "rfc2136",
    resolvers: [acme.dnsAddress],
    credentials: { RFC2136_NAMESERVER: acme.dnsAddress, RFC2136_TSIG_ALGORITHM: acme.tsig.algorithm, RFC2136_TSIG_KEY: acme.tsig.name, RFC2136_POLLING_INTERVAL: "1", RFC2136_SEQUENCE_INTERVAL: "1" },
  });
  /** Pebble's root now (a restarted Pebble has a new one), as the file clients trust. */
  const trustRoot = async () => writeFileSync(rootFile, await acme.rootPem());
  const forceRenewal = () => hostRoot(sb, `echo 99999 >${HOST_PATHS.ACME_CONFIG_DIR}/days`);
  const restoreWindow = () => hostRoot(sb, `echo 30 >${HOST_PATHS.ACME_CONFIG_DIR}/days`);

  beforeAll(async () => {
    sb = hosts.get(release) as SandboxHost;
    // Pebble reaches the host by its name, through knot; the host finds the zone's name server by its own resolver.
    await acme.setAddress(HOSTNAME, sb.address);
    await hostRoot(sb, `echo '${acme.dnsAddress.split(":")[0]} ns.sandbox.test' >>/etc/hosts`);
    stack = await stackFor(`acme-${release}`, sb, spec({ type: "http-01" }));
  }, 600_000);

  afterAll(async () => {
    await stack?.remove();
  }, 300_000);

  it("issues with http-01, serves the chain Pebble's root verifies on 465, 587 and 993, and closes port 80 again", async () => {
    const start = Date.now();
    await stack.up();
    timings.push(`${release}: pulumi up to a served ACME certificate (fresh host, packages included): ${((Date.now() - start) / 1000).toFixed(1)} s`);
    await trustRoot();
    const first = await served(sb.address, 465, rootFile);
    for (const port of [587, 993] as const) expect((await served(sb.address, port, rootFile)).serial, `port ${port}`).toBe(first.serial);
    expect(first.names).toBe(`DNS:${HOSTNAME}`);
    const out = (await stack.outputs()).hosts as Record<string, { certificateSha256: string; certificateSource: string; certificateNotAfter: string }>;
    expect(out[sb.name]).toMatchObject({ certificateSha256: first.sha256, certificateSource: "host" });
    // Port 80 is the challenge's only while lego answers it: closed again, and no rule of it left behind.
    expect(await tcpState(sb.address, 80)).not.toBe("open");
    expect(await hostRoot(sb, "nft list ruleset | grep -c mail-submission-acme-challenge || true")).toBe("0\n");
    expect(await hostRoot(sb, `systemctl is-enabled ${ACME_UNIT}.timer; stat -c %a ${HOST_PATHS.ACME_CONFIG_DIR}/env ${HOST_PATHS.ACME_DIR}`)).toBe("enabled\n600\n700\n");
  }, 900_000);

  it("renews through the timer's unit under client load with no failed session, and the renewal is not drift", async () => {
    const old = await served(sb.address, 465, rootFile);
    const tls = { servername: HOSTNAME, ca: [await acme.rootPem()] };
    const load = startLoad([{ host: sb.address, port: 465, tls }, { host: sb.address, port: 587, tls }], ALICE, `root@${HOSTNAME}`);
    await new Promise((r) => setTimeout(r, 3000));
    await forceRenewal();
    const start = Date.now();
    await hostRoot(sb, `systemctl start ${ACME_UNIT}.service`);
    const took = await untilRenewed(sb.address, old.serial, rootFile, start);
    await new Promise((r) => setTimeout(r, 3000));
    const report = await load.stop();
    await restoreWindow();
    timings.push(`${release}: renewal started to the new serial served on 465, 587 and 993: ${(took / 1000).toFixed(1)} s; load ${report.sessions} sessions, ${report.failures.length} failed`);
    expect(report.sessions).toBeGreaterThan(10);
    expect(report.failures).toEqual([]);
    expect(await hostRoot(sb, `journalctl -u ${ACME_UNIT}.service -o cat --no-pager | grep -c 'installed the renewed certificate' || true`)).not.toBe("0\n");
    // The host is the source of truth now: nothing to change, nothing drifted, and verify accepts the renewed pair.
    const preview = await stack.preview({ expectNoChanges: true });
    expect(preview.ok, preview.output).toBe(true);
    expect(preview.output).not.toMatch(/drift on/);
    const v = await verify(
      ["--stack", stack.name, "--resolve", `${HOSTNAME}:${sb.address}`, "--ca-file", rootFile, "--user", ALICE.name, "--password-env", "VERIFY_PASSWORD", "--no-port25", "--json"],
      { ...ENGINE_ENV, VERIFY_PASSWORD: ALICE.password },
    );
    findings(v, `verify on ${release}`);
    expect(failures(v)).toEqual([]);
    expect(status(v, 465, "certificate-trusted")?.status).toBe("PASS");
    expect(status(v, 465, "certificate-deployed")).toBeUndefined();
  }, 600_000);

  it("a renewal the CA refuses fails the unit, says why in the journal, and keeps serving the current certificate", async () => {
    const old = await served(sb.address, 465, rootFile);
    // Pebble now finds the name elsewhere: the http-01 challenge cannot succeed.
    await acme.setAddress(HOSTNAME, "10.231.0.254");
    await forceRenewal();
    const r = await sshExec(sb, `systemctl start ${ACME_UNIT}.service`, { user: "root" });
    await acme.setAddress(HOSTNAME, sb.address);
    await restoreWindow();
    expect(r.code).not.toBe(0);
    expect(await hostRoot(sb, `systemctl is-failed ${ACME_UNIT}.service || true`)).toBe("failed\n");
    expect(await hostRoot(sb, `journalctl -u ${ACME_UNIT}.service -o cat --no-pager -n 40`)).toMatch(new RegExp(`${HOSTNAME.replaceAll(".", "\\.")}.*(error|invalid)`, "i"));
    expect((await served(sb.address, 465, rootFile)).serial).toBe(old.serial);
    expect(await hostRoot(sb, "nft list ruleset | grep -c mail-submission-acme-challenge || true")).toBe("0\n");
  }, 300_000);

  it("issues with dns-01 (RFC 2136 with TSIG) for a further name, the TSIG secret only in a root-only file on the host", async () => {
    await reconfigure(stack, sb, spec(dns01(), [SAN]));
    const start = Date.now();
    await stack.up();
    timings.push(`${release}: pulumi up to a dns-01 certificate for a further name: ${((Date.now() - start) / 1000).toFixed(1)} s`);
    for (const port of [465, 587, 993] as const) expect((await served(sb.address, port, rootFile)).names, `port ${port}`).toBe(`DNS:${HOSTNAME}, DNS:${SAN}`);
    expect(await stack.exportText()).not.toContain(acme.tsig.secret);
    expect(await hostRoot(sb, `grep -c RFC2136_TSIG_SECRET ${HOST_PATHS.ACME_CONFIG_DIR}/env; grep -rlF -- '${acme.tsig.secret}' /etc/systemd /usr/local/lib/mail-submission ${HOST_PATHS.ACME_CONFIG_DIR}/args || true`)).toBe("1\n");
  }, 600_000);

  it("with the ACME server down, up fails saying so and the current certificate stays served", async () => {
    const old = await served(sb.address, 465, rootFile);
    await acme.stopPebble();
    try {
      await reconfigure(stack, sb, spec(dns01(), [SAN, "imap.sandbox.test"]));
      const r = await stack.upFailing();
      expect(r.ok).toBe(false);
      expect(r.output).toContain("the ACME CA did not issue a certificate");
      expect((await served(sb.address, 465, rootFile)).serial).toBe(old.serial);
      expect(await hostRoot(sb, `systemctl is-enabled ${ACME_UNIT}.timer`)).toBe("enabled\n");
    } finally {
      // A new Pebble: new root, no accounts. The stack goes back to the settings its certificate was issued for.
      await acme.startPebble();
      await reconfigure(stack, sb, spec(dns01(), [SAN]));
    }
  }, 300_000);

  it("host mode serves the operator's certbot files, follows their renewal, and takes acme's timer away", async () => {
    const pki = makePki();
    const live = `/etc/letsencrypt/live/${HOSTNAME}`;
    const archive = `/etc/letsencrypt/archive/${HOSTNAME}`;
    // certbot's layout: numbered files in archive/, symbolic links in live/ that a renewal points at the next ones.
    const put = async (n: number, pair: { chainPem: string; keyPem: string }) => {
      await hostRoot(sb, `install -d -m 0700 ${archive} ${live} && cat >${archive}/fullchain${n}.pem`, pair.chainPem);
      await hostRoot(sb, `umask 077 && cat >${archive}/privkey${n}.pem`, pair.keyPem);
      await hostRoot(sb, `ln -sfn ../../archive/${HOSTNAME}/fullchain${n}.pem ${live}/fullchain.pem && ln -sfn ../../archive/${HOSTNAME}/privkey${n}.pem ${live}/privkey.pem`);
    };
    await put(1, pki.issue(HOSTNAME));
    writeFileSync(join(dir, "pki.pem"), pki.caCertPem);
    await reconfigure(stack, sb, { certificate: { mode: "host", chainPath: `${live}/fullchain.pem`, keyPath: `${live}/privkey.pem` }, extra: { limits, services: { imaps: true } } });
    await stack.up();
    const first = await served(sb.address, 465, join(dir, "pki.pem"));
    expect(await hostRoot(sb, `systemctl is-enabled ${ACME_UNIT}.timer 2>&1 || true; test -e ${HOST_PATHS.ACME_DIR} || echo gone`)).toMatch(/(not-found|No such file)[\s\S]*gone\n$/);
    const renewed = pki.issue(HOSTNAME);
    const start = Date.now();
    await put(2, renewed);
    const took = await untilRenewed(sb.address, first.serial, join(dir, "pki.pem"), start);
    timings.push(`${release}: host mode, certbot-style renewal to the new serial served: ${(took / 1000).toFixed(1)} s`);
    expect((await served(sb.address, 465, join(dir, "pki.pem"))).sha256).toBe(new X509Certificate(renewed.chainPem).fingerprint256.replaceAll(":", "").toLowerCase());
  }, 600_000);

  it("Dovecot's master outlived every reload of the renewals and changes (2.4.1 crashed at the second while it logged to syslog)", async () => {
    const journal = await hostRoot(sb, "journalctl -u mail-submission-dovecot -o cat --no-pager");
    expect((journal.match(/SIGHUP received/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(journal).not.toMatch(/Main process exited|status=11\/SEGV/);
  }, 60_000);

  it("destroy removes the timer, the path unit, lego's state and keys, and keeps the operator's files", async () => {
    await stack.destroy();
    expect(await hostRoot(sb, `systemctl list-unit-files 'mail-submission-*' --no-legend | wc -l; ls -d ${HOST_PATHS.ACME_DIR} ${HOST_PATHS.ACME_CONFIG_DIR} ${HOST_PATHS.CERT_INSTALL} 2>/dev/null | wc -l`)).toBe("0\n0\n");
    expect(await hostRoot(sb, `test -s /etc/letsencrypt/live/${HOSTNAME}/fullchain.pem && echo kept`)).toBe("kept\n");
  }, 300_000);
});
