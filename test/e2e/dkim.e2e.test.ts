/**
 * DKIM signing of submitted mail on Debian 12 and 13, through `pulumi up`: mail sent through 465 and 587 arrives
 * with an RSA and an Ed25519 signature that a verifier we did not write (Debian's python3-dkim) accepts against the
 * `dkimRecords` output; From outside the signing domains goes unsigned; a stopped signer defers mail (4xx) rather
 * than let it out unsigned; a key rotation keeps old mail verifiable; destroy leaves nothing of the signer.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dkimPaths, HOST_PATHS } from "../../components/host/contract";
import { verifyDkim, type SignatureCheck } from "../harness/dkim";
import type { EngineStack } from "../harness/engine";
import { makePki } from "../harness/pki";
import { delivered, hostRoot, openSecured, openSession } from "../harness/probes";
import { downHost, upHost, type Release, type SandboxHost } from "../harness/sandbox";
import { ALICE, HOSTNAME, reconfigure, stackFor, tlsFor, type HostSpec } from "../harness/scenario";

describe.each(["bookworm", "trixie"] as Release[])("DKIM on Debian %s, through pulumi up", (release) => {
  const pki = makePki();
  let sb: SandboxHost;
  let stack: EngineStack;
  const spec = (dkim: Record<string, unknown>): HostSpec => ({ certificate: { mode: "provided", ...pki.issue(HOSTNAME) }, extra: { dkim: { enabled: true, ed25519: true, ...dkim } } });
  const records = async (): Promise<string[]> => ((await stack.outputs()).hosts as Record<string, { dkimRecords: string[] }>)[sb.name]?.dkimRecords ?? [];

  /** Sends one message as alice with every header a mail client sets; returns its subject and the final reply. */
  async function send(port: 465 | 587, from = ALICE.name): Promise<{ subject: string; codes: number[] }> {
    const subject = `dkim ${port} ${randomUUID()}`;
    const session = await openSecured({ host: sb.address, port, tls: tlsFor(pki) });
    try {
      await session.authPlain(ALICE.name, ALICE.password);
      const data = [`From: Alice <${from}>`, `To: <root@${HOSTNAME}>`, `Subject: ${subject}`, `Date: ${new Date().toUTCString()}`, `Message-ID: <${randomUUID()}@sandbox.test>`, "", "signed on the way out", ""].join("\r\n");
      const sent = await session.sendMail({ from: ALICE.name, to: [`root@${HOSTNAME}`], data });
      return { subject, codes: [sent.mail.code, ...sent.rcpt.map((r) => r.code), ...(sent.end ? [sent.end.code] : [])] };
    } finally {
      await session.quit();
    }
  }

  /** A client's whole attempt, as far as the server lets it get: the reply code of each command it answered. */
  async function attempt(port: 465 | 587): Promise<number[]> {
    const session = await openSession(sb.address, port, port === 465 ? tlsFor(pki) : undefined);
    const codes: number[] = [];
    try {
      const ehlo = await session.command("EHLO e2e.sandbox.test", "EHLO");
      codes.push(ehlo.code);
      if (ehlo.code !== 250) return codes;
      if (port === 587) {
        const tls = await session.startTls(tlsFor(pki));
        codes.push(tls.code);
        if (tls.code !== 220) return codes;
        await session.ehlo();
      }
      const auth = await session.authPlain(ALICE.name, ALICE.password);
      codes.push(auth.code);
      const sent = await session.sendMail({ from: ALICE.name, to: [`root@${HOSTNAME}`], data: "Subject: signer down\r\n\r\nmust not leave unsigned\r\n" });
      codes.push(sent.mail.code, ...sent.rcpt.map((r) => r.code), ...(sent.end ? [sent.end.code] : []));
      return codes;
    } finally {
      session.close();
    }
  }

  async function signaturesOf(subject: string, zone: readonly string[]): Promise<SignatureCheck[]> {
    const message = await delivered(sb, subject);
    if (message === undefined) throw new Error(`'${subject}' was not delivered`);
    return verifyDkim(message, zone);
  }

  beforeAll(async () => {
    sb = await upHost(`e2e-dkim-${release}`, { release });
    stack = await stackFor(`dkim-${release}`, sb, spec({}));
  }, 600_000);

  afterAll(async () => {
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("signs mail sent through 465 and 587 with RSA and Ed25519, each verified against the output records", async () => {
    await stack.up();
    const zone = await records();
    expect(zone.map((r) => r.split(" ")[0])).toEqual(["mail._domainkey.sandbox.test.", "mail-ed25519._domainkey.sandbox.test."]);
    for (const port of [465, 587] as const) {
      const { subject, codes } = await send(port);
      expect(codes.at(-1), `port ${port}`).toBe(250);
      const sigs = await signaturesOf(subject, zone);
      console.log(`dkimverify (python3-dkim) on ${release}, port ${port}: ${JSON.stringify(sigs)}`);
      expect(sigs.map((s) => [s.d, s.s, s.a, s.ok])).toEqual([
        ["sandbox.test", "mail", "rsa-sha256", true],
        ["sandbox.test", "mail-ed25519", "ed25519-sha256", true],
      ]);
      for (const s of sigs) expect(s.h.toLowerCase().split(":")).toEqual(expect.arrayContaining(["from", "to", "subject", "date", "message-id"]));
    }
    // Our signers are instances of our own; Debian's opendkim.service that came with the package stays off.
    expect(await hostRoot(sb, `systemctl is-active ${dkimPaths.unit("rsa")} ${dkimPaths.unit("ed25519")}; systemctl is-enabled opendkim || true`)).toBe("active\nactive\ndisabled\n");
  }, 600_000);

  it("leaves mail from a domain it does not sign for unsigned, and a second up runs nothing", async () => {
    const { subject, codes } = await send(465, "alice@elsewhere.test");
    // alice may not use that sender: her envelope is her own, only the From header names the other domain.
    expect(codes.at(-1)).toBe(250);
    expect(await signaturesOf(subject, await records())).toEqual([]);
    expect((await stack.preview({ expectNoChanges: true })).ok).toBe(true);
  }, 300_000);

  it("a stopped signer defers mail with a 4xx; nothing leaves unsigned, and mail flows again once it is back", async () => {
    await hostRoot(sb, `systemctl stop ${dkimPaths.unit("rsa")}`);
    try {
      // Postfix applies the tempfail action from the first command on: the client is told to come back later.
      for (const port of [465, 587] as const) {
        const codes = await attempt(port);
        expect(codes.some((c) => c >= 400 && c < 500), `${port}: replies ${codes.join(" ")}`).toBe(true);
        // At most EHLO's 250: no MAIL, RCPT or DATA is accepted.
        expect(codes.slice(1), `${port}: replies ${codes.join(" ")}`).not.toContain(250);
      }
    } finally {
      await hostRoot(sb, `systemctl start ${dkimPaths.unit("rsa")}`);
    }
    await hostRoot(sb, `for i in $(seq 50); do [ -S ${dkimPaths.socketAbsolute("rsa")} ] && exit 0; sleep 0.2; done; exit 1`);
    expect((await send(587)).codes.at(-1)).toBe(250);
  }, 300_000);

  it("rotation: the next key is published before it signs, then signs with the same key; the retired one stays published and old mail still verifies", async () => {
    const before = await send(465);
    await reconfigure(stack, sb, spec({ nextSelector: "s2" }));
    await stack.up();
    const published = await records();
    expect(published.map((r) => r.split(" ")[0])).toEqual([
      "mail._domainkey.sandbox.test.",
      "mail-ed25519._domainkey.sandbox.test.",
      "s2._domainkey.sandbox.test.",
      "s2-ed25519._domainkey.sandbox.test.",
    ]);
    expect((await signaturesOf((await send(465)).subject, published)).map((s) => s.s)).toEqual(["mail", "mail-ed25519"]);
    await reconfigure(stack, sb, spec({ selector: "s2", retiredSelectors: ["mail"] }));
    await stack.up();
    const zone = await records();
    // The key that was published is the one that signs now: switching made no new key.
    expect([...zone].sort()).toEqual([...published].sort());
    expect(zone.map((r) => r.split(" ")[0])).toEqual([
      "s2._domainkey.sandbox.test.",
      "s2-ed25519._domainkey.sandbox.test.",
      "mail._domainkey.sandbox.test.",
      "mail-ed25519._domainkey.sandbox.test.",
    ]);
    const after = await send(465);
    expect((await signaturesOf(after.subject, zone)).map((s) => [s.s, s.ok])).toEqual([["s2", true], ["s2-ed25519", true]]);
    expect((await signaturesOf(before.subject, zone)).map((s) => [s.s, s.ok])).toEqual([["mail", true], ["mail-ed25519", true]]);
    // Only the signing keys are on the host: the retired ones live in the stack for their records.
    expect(await hostRoot(sb, `ls ${HOST_PATHS.OPENDKIM_KEY_DIR}`)).toBe("s2-ed25519.ed25519.key\ns2.rsa.key\n");
  }, 600_000);

  it("destroy removes the signer: no instance, unit, keys or socket", async () => {
    await stack.destroy();
    expect(await hostRoot(sb, `systemctl list-units --all --plain --no-legend 'mail-submission-opendkim@*' | wc -l`)).toBe("0\n");
    expect(await hostRoot(sb, `ls -d ${HOST_PATHS.OPENDKIM_DIR} ${HOST_PATHS.OPENDKIM_SOCKET_DIR} ${HOST_PATHS.OPENDKIM_UNIT} 2>/dev/null | wc -l`)).toBe("0\n");
  }, 300_000);
});
