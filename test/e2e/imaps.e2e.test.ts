/**
 * The optional mailbox services over implicit TLS (RFC 8314 §3.1, §3.2) on both Dovecot syntaxes, through
 * `pulumi up`: IMAPS on 993 and POP3S on 995 with the deployed certificate, the cleartext 143 and 110 never opened,
 * the same mailbox through both, read with curl; `verify --stack` checks them where the stack deploys them. These
 * hosts use the `selfSigned` mode, so clients trust the served certificate itself.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paths } from "../../components/host/contract";
import { ENGINE_ENV, type EngineStack } from "../harness/engine";
import { mailboxRead, type MailboxPort } from "../harness/mailbox";
import { hostRoot, listening, tcpState, testssl, TESTSSL_CLEAN } from "../harness/probes";
import { downHost, upHost, type Release, type SandboxHost } from "../harness/sandbox";
import { ALICE, HOSTNAME, reconfigure, stackFor, type HostSpec } from "../harness/scenario";
import { failures, findings, status, verify } from "../harness/verifyCli";

const SUBJECT = "waiting in the mailbox of alice";

/** A message put straight into alice's Maildir, as a delivery agent leaves it, owned by the virtual mail user. */
function depositScript(): string {
  const maildir = `${paths.virtualHome}/${ALICE.name}/Maildir`;
  const message = `From: bob@sandbox.test\\nTo: ${ALICE.name}\\nSubject: ${SUBJECT}\\n\\nread me over TLS\\n`;
  return [
    `install -d -o mail -g mail -m 0700 ${paths.virtualHome}/${ALICE.name} ${maildir} ${maildir}/cur ${maildir}/new ${maildir}/tmp`,
    `printf '${message}' >${maildir}/new/1.e2e.sandbox`,
    `chown mail:mail ${maildir}/new/1.e2e.sandbox`,
  ].join(" && ");
}

describe.each(["bookworm", "trixie"] as Release[])("IMAPS and POP3S on Debian %s, selfSigned certificate, through pulumi up", (release) => {
  let sb: SandboxHost;
  let stack: EngineStack;
  let sockets: string[];
  let leaf: string;
  const spec = (imaps: boolean): HostSpec => ({ certificate: { mode: "selfSigned" }, extra: { services: { imaps, pop3s: true } } });
  const read = (port: MailboxPort, password = ALICE.password) => mailboxRead(sb.address, port, ALICE.name, password, { ca: leaf, hostname: HOSTNAME });

  beforeAll(async () => {
    sb = await upHost(`e2e-imaps-${release}`, { release });
    sockets = await listening(sb);
    stack = await stackFor(`imaps-${release}`, sb, spec(true));
  }, 600_000);

  afterAll(async () => {
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("serves 993 and 995 with the deployed certificate, the same mailbox on both, and never cleartext 143 or 110", async () => {
    await stack.up();
    // The self-signed certificate is its own trust anchor: fetched from the host, and curl checks it and the name.
    leaf = await hostRoot(sb, `cat ${paths.certChain}`);
    await hostRoot(sb, depositScript());
    for (const port of [993, 995] as const) {
      const ok = await read(port);
      expect(ok.error, `port ${port}`).toBe("");
      expect(ok.message).toContain(`Subject: ${SUBJECT}`);
      expect((await read(port, "wrong")).code, `a wrong password on ${port}`).toBe(67);
    }
    expect(await tcpState(sb.address, 143)).toBe("closed");
    expect(await tcpState(sb.address, 110)).toBe("closed");
    // Our instance serves both; the dovecot.service that came with the packages is stopped, so no 143 or 110 opens.
    expect(await hostRoot(sb, "systemctl is-active mail-submission-dovecot; systemctl is-enabled dovecot || true")).toBe("active\ndisabled\n");
  }, 600_000);

  it("verify --stack finds 993 and 995 in the stack and passes each of their checks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "e2e-mailbox-verify-"));
    writeFileSync(join(dir, "ca.pem"), leaf);
    const run = await verify(
      ["--stack", stack.name, "--resolve", `${HOSTNAME}:${sb.address}`, "--ca-file", join(dir, "ca.pem"), "--user", ALICE.name, "--password-env", "VERIFY_PASSWORD", "--no-port25", "--json"],
      { ...ENGINE_ENV, VERIFY_PASSWORD: ALICE.password },
    );
    findings(run, `verify on ${release}`);
    expect(failures(run)).toEqual([]);
    expect(run.code).toBe(0);
    for (const port of [993, 995]) {
      for (const check of ["implicit-tls", "login-offered", "login"]) expect(status(run, port, check)?.status, `${port} ${check}`).toBe("PASS");
    }
    // Nothing answers on the cleartext ports, and verify says so rather than leaving them out.
    for (const port of [143, 110]) expect(status(run, port, "no-login-before-tls")?.status, `${port}`).toBe("PASS");
  }, 300_000);

  it.each([993, 995])("testssl.sh on %d: no SSLv2/3, TLS 1.0/1.1, NULL, export or weak ciphers; server order", async (port) => {
    const report = await testssl(sb.address, HOSTNAME, port, false, `${release}-${port}`);
    for (const line of TESTSSL_CLEAN) expect(report).toMatch(line);
  }, 300_000);

  it("IMAPS switched off: 993 closes, POP3S keeps serving the mailbox", async () => {
    await reconfigure(stack, sb, spec(false));
    await stack.up();
    expect(await tcpState(sb.address, 993)).toBe("closed");
    expect(await tcpState(sb.address, 143)).toBe("closed");
    expect((await read(995)).message).toContain(`Subject: ${SUBJECT}`);
  }, 600_000);

  it("destroy leaves no new listener behind: 993, 995, 143 and 110 are gone with the packages it brought", async () => {
    await stack.destroy();
    expect(await listening(sb)).toEqual(sockets);
    for (const port of [993, 995]) expect(await tcpState(sb.address, port)).toBe("closed");
  }, 300_000);
});
