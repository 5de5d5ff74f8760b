/**
 * The optional IMAPS service (RFC 8314 §3.2) on both Dovecot syntaxes, through `pulumi up`: 993 only, with the
 * deployed certificate. These hosts use the `selfSigned` mode, so clients trust the served certificate itself.
 */
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineStack } from "../harness/engine";
import { hostRoot, listening, tcpState } from "../harness/probes";
import { downHost, upHost, type Release, type SandboxHost } from "../harness/sandbox";
import { ALICE, HOSTNAME, stackFor } from "../harness/scenario";

/** Logs in over implicit TLS and returns the tagged reply. */
function imapLogin(host: string, ca: string, user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: 993, servername: HOSTNAME, ca, minVersion: "TLSv1.2" });
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

describe.each(["bookworm", "trixie"] as Release[])("IMAPS on Debian %s, selfSigned certificate, through pulumi up", (release) => {
  let sb: SandboxHost;
  let stack: EngineStack;
  let sockets: string[];

  beforeAll(async () => {
    sb = await upHost(`e2e-imaps-${release}`, { release });
    sockets = await listening(sb);
    stack = await stackFor(`imaps-${release}`, sb, { certificate: { mode: "selfSigned" }, extra: { services: { imaps: true } } });
  }, 600_000);

  afterAll(async () => {
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("serves 993 with the deployed certificate, never cleartext 143, and lets the user log in", async () => {
    await stack.up();
    // The self-signed certificate is its own trust anchor: fetch it from the host, check it is the deployed one.
    const leaf = await hostRoot(sb, "cat /etc/mail-submission/tls/fullchain.pem");
    expect(await imapLogin(sb.address, leaf, ALICE.name, ALICE.password)).toMatch(/^a1 OK /);
    expect(await imapLogin(sb.address, leaf, ALICE.name, "wrong")).toMatch(/^a1 NO /);
    expect(await tcpState(sb.address, 143)).toBe("closed");
    // Our instance serves IMAPS; the dovecot.service that came with the packages is stopped, so no 143 ever opens.
    expect(await hostRoot(sb, "systemctl is-active mail-submission-dovecot; systemctl is-enabled dovecot || true")).toBe("active\ndisabled\n");
  }, 600_000);

  it("destroy leaves no new listener behind: imapd's 993 and 143 are gone with the packages it brought", async () => {
    await stack.destroy();
    expect(await listening(sb)).toEqual(sockets);
    expect(await tcpState(sb.address, 993)).toBe("closed");
  }, 300_000);
});
