/**
 * verify's IMAPS/POP3S checks against scripted IMAP and POP3 servers on loopback: implicit TLS, the certificate,
 * TLS 1.0/1.1, a SASL PLAIN login, and the cleartext port, where a server that offers or takes a login fails.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkMailbox } from "../../verify/checks/mailbox";
import type { CheckContext } from "../../verify/context";
import type { Options } from "../../verify/types";

const USER = "qa@mail.test";
const PASSWORD = "pw-\"9\\x";
const PLAIN = Buffer.from(`\0${USER}\0${PASSWORD}`).toString("base64");

interface Behaviour {
  /** In clear: what the server offers and does with a login (Dovecot's disable_plaintext_auth = yes, or not). */
  cleartextLogin?: "refused" | "checked" | "offered";
}

/** IMAP as Dovecot answers it, as far as the checks go. */
function imapServer(sock: net.Socket, secure: boolean, b: Behaviour): void {
  const say = (s: string) => sock.write(`${s}\r\n`);
  let pending: string | undefined;
  say("* OK [CAPABILITY IMAP4rev1] Dovecot ready.");
  lines(sock, (line) => {
    if (pending) {
      say(line === PLAIN ? `${pending} OK Logged in` : `${pending} NO [AUTHENTICATIONFAILED] Authentication failed.`);
      pending = undefined;
      return;
    }
    const [tag, cmd] = line.split(" ");
    const offered = secure || b.cleartextLogin === "offered";
    if (cmd === "CAPABILITY") say(`* CAPABILITY IMAP4rev1 SASL-IR ${offered ? "AUTH=PLAIN" : "LOGINDISABLED"}`), say(`${tag} OK done`);
    else if (cmd === "AUTHENTICATE") [pending] = [tag, say("+ ")];
    else if (cmd === "LOGIN") say(secure || b.cleartextLogin !== "refused" ? `${tag} NO [AUTHENTICATIONFAILED] Authentication failed.` : `${tag} NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.`);
    else say(`${tag} BAD Error in IMAP command`);
  });
}

function pop3Server(sock: net.Socket, secure: boolean, b: Behaviour): void {
  const say = (s: string) => sock.write(`${s}\r\n`);
  let auth = false;
  say("+OK Dovecot ready.");
  lines(sock, (line) => {
    const offered = secure || b.cleartextLogin === "offered";
    if (auth) [auth] = [false, say(line === PLAIN ? "+OK Logged in." : "-ERR [AUTH] Authentication failed.")];
    else if (line === "CAPA") say(["+OK", "TOP", "UIDL", ...(offered ? ["USER", "SASL PLAIN"] : ["SASL"]), "."].join("\r\n"));
    else if (line === "AUTH PLAIN") [auth] = [true, say("+ ")];
    else if (line.startsWith("USER ")) say(secure || b.cleartextLogin !== "refused" ? "+OK" : "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.");
    else say("-ERR Unknown command.");
  });
}

function lines(sock: net.Socket, on: (line: string) => void): void {
  let buffer = "";
  sock.on("error", () => undefined);
  sock.on("data", (chunk) => {
    buffer += chunk.toString("latin1");
    let eol: number;
    while ((eol = buffer.indexOf("\r\n")) >= 0) {
      on(buffer.slice(0, eol));
      buffer = buffer.slice(eol + 2);
    }
  });
}

const options: Options = { timeoutMs: 2000, warnDays: 21, failDays: 7, relayTo: "relay-test@example.org", srvDomains: [], dnsServers: [], port25: false };

describe("verify: IMAPS and POP3S against scripted servers on loopback", () => {
  const dir = mkdtempSync(join(tmpdir(), "verify-mailbox-"));
  const servers: net.Server[] = [];
  let pem = { cert: "", key: "" };
  let ctx: (o?: Partial<Options>) => CheckContext;

  async function start(server: net.Server): Promise<number> {
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return (server.address() as net.AddressInfo).port;
  }
  const serve = { imaps: imapServer, pop3s: pop3Server } as const;
  const pair = async (service: "imaps" | "pop3s", minVersion: tls.SecureVersion, b: Behaviour = {}) => ({
    secure: await start(tls.createServer({ ...pem, minVersion, ciphers: "DEFAULT@SECLEVEL=0" }, (s) => serve[service](s, true, b))),
    clear: await start(net.createServer((s) => serve[service](s, false, b))),
  });
  const closedPort = async () => {
    const port = await start(net.createServer());
    await new Promise((r) => servers.pop()?.close(r));
    return port;
  };

  beforeAll(() => {
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=mail.test",
      "-addext", "subjectAltName=DNS:mail.test", "-days", "30", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
    pem = { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") };
    ctx = (o = {}) => ({
      target: { label: "fake", address: "127.0.0.1", hostname: "mail.test", services: {} },
      options: { ...options, ...o }, trust: { ca: pem.cert, source: "the test certificate" }, now: new Date(),
    });
  });
  afterAll(() => servers.forEach((s) => s.close()));

  it.each(["imaps", "pop3s"] as const)("%s: passes a server like ours, with a login, and a closed cleartext port", async (service) => {
    const { secure } = await pair(service, "TLSv1.2");
    const rows = await checkMailbox(ctx({ credentials: { user: USER, password: PASSWORD } }), service, secure, await closedPort());
    expect(rows.map((r) => [r.check, r.status])).toEqual([
      ["implicit-tls", "PASS"], ["certificate-trusted", "PASS"], ["certificate-hostname", "PASS"], ["certificate-expiry", "PASS"], ["login-offered", "PASS"],
      ["tls1.0-refused", "PASS"], ["tls1.1-refused", "PASS"], ["login", "PASS"], ["no-login-before-tls", "PASS"],
    ]);
    expect(rows.find((r) => r.check === "login-offered")?.detail).toContain("AUTH=PLAIN");
    expect(rows.at(-1)?.detail).toMatch(/^nothing to log in to in clear: connection refused/);
  });

  it.each(["imaps", "pop3s"] as const)("%s: fails TLS 1.0/1.1 accepted and a wrong password, never printing the password", async (service) => {
    const { secure } = await pair(service, "TLSv1");
    const rows = await checkMailbox(ctx({ credentials: { user: USER, password: "Wrong-Pw-1" } }), service, secure, await closedPort());
    expect(rows.filter((r) => r.status === "FAIL").map((r) => r.check)).toEqual(["tls1.0-refused", "tls1.1-refused", "login"]);
    expect(JSON.stringify(rows)).not.toContain("Wrong-Pw-1");
  });

  it.each(["imaps", "pop3s"] as const)("%s: the cleartext port passes when it offers and refuses a login, fails when it offers one or checks it", async (service) => {
    const verdict = async (b: Behaviour) => {
      const { secure, clear } = await pair(service, "TLSv1.2", b);
      return (await checkMailbox(ctx(), service, secure, clear)).at(-1);
    };
    const refused = await verdict({ cleartextLogin: "refused" });
    expect(refused?.status).toBe("PASS");
    expect(refused?.detail).toMatch(/offers no login and refused one: .*(PRIVACYREQUIRED|Plaintext authentication disallowed)/);
    const offered = await verdict({ cleartextLogin: "offered" });
    expect([offered?.status, offered?.detail]).toEqual(["FAIL", expect.stringMatching(/in clear offers (LOGIN|USER) AUTH=PLAIN before TLS/)]);
    const checked = await verdict({ cleartextLogin: "checked" });
    expect(checked?.status).toBe("FAIL");
    expect(checked?.detail).toMatch(/a login in clear was (accepted|checked against the password)/);
  });

  it("fails a port that does not speak the protocol inside TLS, and a port with nothing on it", async () => {
    const { secure } = await pair("pop3s", "TLSv1.2");
    const wrong = await checkMailbox(ctx(), "imaps", secure, await closedPort());
    expect(wrong[0]).toMatchObject({ check: "implicit-tls", status: "FAIL", detail: "not an IMAP greeting: +OK Dovecot ready." });
    const none = await checkMailbox(ctx(), "pop3s", await closedPort(), await closedPort());
    expect(none.map((r) => [r.check, r.status])).toEqual([["implicit-tls", "FAIL"], ["no-login-before-tls", "PASS"]]);
  });
});
