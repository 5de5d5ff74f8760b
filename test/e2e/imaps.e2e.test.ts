/** The optional IMAPS service (RFC 8314 §3.2) on both Dovecot syntaxes: 993 only, the deployed certificate. */
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyHost, destroyHost } from "./support/apply";
import { makePki } from "./support/pki";
import { hostRoot, tcpState } from "./support/probes";
import { downHost, upHost, type Release, type SandboxHost } from "./support/sandbox";
import { ALICE, HOSTNAME, hostConfig, tlsFor } from "./support/scenario";

/** Logs in over implicit TLS and returns the tagged reply. */
function imapLogin(host: string, tls: { servername: string; ca: string }, user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: 993, ...tls, minVersion: "TLSv1.2" });
    let buffer = "";
    let sent = false;
    socket.setTimeout(15_000, () => socket.destroy(new Error(`IMAP timed out; got: ${buffer}`)));
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      if (!sent && buffer.includes("* OK")) {
        sent = true;
        socket.write(`a1 LOGIN "${user}" "${password}"\r\n`);
      }
      const tagged = /^a1 .*$/m.exec(buffer);
      if (tagged) {
        socket.end("a2 LOGOUT\r\n");
        resolve(tagged[0].trim());
      }
    });
  });
}

describe.each(["bookworm", "trixie"] as Release[])("IMAPS on Debian %s (component steps over SSH, no engine)", (release) => {
  const pki = makePki();
  let sb: SandboxHost;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    sb = await upHost(`e2e-imaps-${release}`, { release });
    config = hostConfig(sb, pki.issue(HOSTNAME), { services: { imaps: true } });
  }, 600_000);

  afterAll(async () => {
    if (sb) await downHost(sb.name);
  }, 120_000);

  it("serves 993 with the deployed certificate, never cleartext 143, and lets the user log in", async () => {
    const runs = await applyHost(sb, config);
    expect(runs.check.stdout).toContain("ok 993 implicit TLS");
    expect(await imapLogin(sb.address, tlsFor(pki), ALICE.name, ALICE.password)).toMatch(/^a1 OK /);
    expect(await imapLogin(sb.address, tlsFor(pki), ALICE.name, "wrong")).toMatch(/^a1 NO /);
    expect(await tcpState(sb.address, 143)).toBe("closed");
    await destroyHost(sb, config);
    expect(await hostRoot(sb, "ls /etc/dovecot/conf.d")).not.toContain("mail-submission");
  }, 300_000);
});
