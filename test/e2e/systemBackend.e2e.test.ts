/** authBackend "system": the host's own accounts log in through PAM, and nothing else of Dovecot's changes. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyHost, destroyHost } from "./support/apply";
import { makePki } from "./support/pki";
import { configFingerprint, delivered, hostRoot, submit } from "./support/probes";
import { downHost, upHost, type SandboxHost } from "./support/sandbox";
import { HOSTNAME, hostConfig, tlsFor } from "./support/scenario";

describe("a host with the system (PAM) backend (component steps over SSH, no engine)", () => {
  const pki = makePki();
  let sb: SandboxHost;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    sb = await upHost("e2e-pam", { release: "trixie" });
    config = hostConfig(sb, pki.issue(HOSTNAME), { authBackend: "system", users: [], senderPolicy: { systemDomains: [HOSTNAME] } });
    await hostRoot(sb, "useradd -m carol && chpasswd", "carol:Carol-Pw-5e1f\n");
  }, 600_000);

  afterAll(async () => {
    if (sb) await downHost(sb.name);
  }, 120_000);

  it("lets a system account submit as itself on 587, keeps Debian's auth include, and gives it all back", async () => {
    await applyHost(sb, config, ["packages"]);
    const baseline = await configFingerprint(sb);
    await applyHost(sb, config);
    expect(await hostRoot(sb, "grep -c '^!include auth-system.conf.ext' /etc/dovecot/conf.d/10-auth.conf")).toBe("1\n");
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
    await destroyHost(sb, config);
    expect(await configFingerprint(sb)).toEqual(baseline);
  }, 300_000);
});
