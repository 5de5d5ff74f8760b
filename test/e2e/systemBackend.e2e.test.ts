/** authBackend "system": the host's own accounts log in through PAM, and nothing else of Dovecot's changes. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineStack } from "../harness/engine";
import { makePki } from "../harness/pki";
import { configFingerprint, delivered, hostRoot, installMailPackages, submit } from "../harness/probes";
import { downHost, upHost, type SandboxHost } from "../harness/sandbox";
import { HOSTNAME, stackFor, tlsFor } from "../harness/scenario";

describe("a host with the system (PAM) backend, through pulumi up", () => {
  const pki = makePki();
  let sb: SandboxHost;
  let stack: EngineStack;

  beforeAll(async () => {
    sb = await upHost("e2e-pam", { release: "trixie" });
    await hostRoot(sb, "useradd -m carol && chpasswd", "carol:Carol-Pw-5e1f\n");
    // The operator's Postfix and Dovecot were there first: destroy must give their files back byte for byte.
    await installMailPackages(sb);
    stack = await stackFor("pam", sb, {
      certificate: { mode: "provided", ...pki.issue(HOSTNAME) },
      users: [],
      extra: { authBackend: "system", senderPolicy: { systemDomains: [HOSTNAME] } },
    });
  }, 600_000);

  afterAll(async () => {
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("lets a system account submit as itself on 587, leaves the host's Dovecot as it was, and gives it all back", async () => {
    const baseline = await configFingerprint(sb);
    await stack.up();
    const deployed = await configFingerprint(sb);
    for (const file of Object.keys(baseline).filter((f) => f.startsWith("/etc/dovecot/"))) expect(deployed[file], file).toBe(baseline[file]);
    const subject = `pam ${Date.now()}`;
    const r = await submit(
      { host: sb.address, port: 587, tls: tlsFor(pki) },
      { user: "carol", password: "Carol-Pw-5e1f", mechanism: "PLAIN", from: `carol@${HOSTNAME}`, to: `root@${HOSTNAME}`, subject },
    );
    expect(r.auth.code).toBe(235);
    expect(r.end?.code).toBe(250);
    expect(await delivered(sb, subject)).toBeDefined();
    const plusTag = await submit(
      { host: sb.address, port: 465, tls: tlsFor(pki) },
      { user: "carol", password: "Carol-Pw-5e1f", mechanism: "LOGIN", from: `Carol+lists@${HOSTNAME}`, to: `root@${HOSTNAME}`, subject: `${subject} tag` },
    );
    expect(plusTag.end?.code).toBe(250);
    const other = await submit(
      { host: sb.address, port: 587, tls: tlsFor(pki) },
      { user: "carol", password: "Carol-Pw-5e1f", mechanism: "PLAIN", from: `root@${HOSTNAME}`, to: `root@${HOSTNAME}`, subject: "spoof" },
    );
    expect(other.rcpt[0]?.code).toBe(553);
    await stack.destroy();
    expect(await configFingerprint(sb)).toEqual(baseline);
  }, 600_000);
});
