/**
 * The network checks against scripted SMTP servers on loopback: quick, offline, and able to misbehave in ways a
 * real Postfix will not (silence, hanging up, TLS 1.0). The e2e suite covers real hosts.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkAuth } from "../../verify/checks/auth";
import { checkImplicitTls } from "../../verify/checks/implicitTls";
import { checkRelay } from "../../verify/checks/relay";
import { checkStartTls } from "../../verify/checks/starttls";
import { checkLegacyTls } from "../../verify/checks/tlsVersions";
import type { CheckContext } from "../../verify/context";
import { clientCannotOffer } from "../../verify/legacyTls";
import type { Options } from "../../verify/types";

const USER = "qa@mail.test";
const PASSWORD = "pw-7c1e";

/** Answers like a small submission server: `ehlo` lines, AUTH PLAIN/LOGIN for USER, mail only once logged in. */
function converse(sock: net.Socket, ehlo: string[], opts: { mailBeforeAuth?: boolean } = {}): void {
  const state = { authed: false, login: undefined as "user" | "pass" | undefined, data: false };
  const say = (s: string) => sock.write(`${s}\r\n`);
  const verdict = (ok: boolean) => {
    state.authed = ok;
    say(ok ? "235 2.7.0 Authentication successful" : "535 5.7.8 Error: authentication failed");
  };
  const b64 = (s: string) => Buffer.from(s, "base64").toString();
  const answer = (line: string): void => {
    if (state.data) {
      if (line === ".") [state.data] = [false, say("250 2.0.0 Ok: queued as FAKE1")];
    } else if (state.login === "user") {
      state.login = "pass";
      say("334 UGFzc3dvcmQ6");
    } else if (state.login === "pass") {
      state.login = undefined;
      verdict(b64(line) === PASSWORD);
    } else if (/^EHLO /i.test(line)) say(ehlo.map((l, i) => `250${i === ehlo.length - 1 ? " " : "-"}${l}`).join("\r\n"));
    else if (/^AUTH PLAIN /i.test(line)) verdict(b64(line.slice(11)) === `\0${USER}\0${PASSWORD}`);
    else if (/^AUTH LOGIN$/i.test(line)) [state.login] = ["user", say("334 VXNlcm5hbWU6")];
    else if (/^MAIL FROM:/i.test(line)) say(state.authed || opts.mailBeforeAuth ? "250 2.1.0 Ok" : "530 5.7.0 Must issue a STARTTLS command first");
    else if (/^RCPT TO:/i.test(line)) say(state.authed ? "250 2.1.5 Ok" : "554 5.7.1 Relay access denied");
    else if (/^DATA$/i.test(line)) [state.data] = [true, say("354 End data with <CR><LF>.<CR><LF>")];
    else if (/^RSET$/i.test(line)) say("250 2.0.0 Ok");
    else if (/^QUIT$/i.test(line)) sock.end("221 2.0.0 Bye\r\n");
    else say("502 5.5.2 Error: command not recognized");
  };
  say("220 mail.test ESMTP fake");
  let buffer = "";
  sock.on("error", () => undefined);
  sock.on("data", (chunk) => {
    buffer += chunk.toString("latin1");
    let eol: number;
    while ((eol = buffer.indexOf("\r\n")) >= 0) {
      answer(buffer.slice(0, eol));
      buffer = buffer.slice(eol + 2);
    }
  });
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as net.AddressInfo).port;
}

const options: Options = { timeoutMs: 2000, warnDays: 21, failDays: 7, relayTo: "relay-test@example.org", srvDomains: [], dnsServers: [], port25: false };

describe("verify checks against scripted servers on loopback", () => {
  const dir = mkdtempSync(join(tmpdir(), "verify-checks-"));
  const servers: net.Server[] = [];
  let pem = { cert: "", key: "" };
  let ctx: (o?: Partial<Options>) => CheckContext;

  const start = async (server: net.Server) => (servers.push(server), listen(server));

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

  /** An implicit-TLS server that speaks TLS 1.0 to 1.3 (or only from `minVersion`). */
  const implicitServer = (minVersion: tls.SecureVersion) =>
    start(tls.createServer({ ...pem, minVersion, ciphers: "DEFAULT@SECLEVEL=0" }, (s) => converse(s, ["mail.test", "AUTH PLAIN LOGIN"])));

  it("this machine's client can offer TLS 1.0 and 1.1 (else the refusal checks only warn)", async () => {
    expect(await clientCannotOffer("TLSv1", 2000)).toBeUndefined();
    expect(await clientCannotOffer("TLSv1.1", 2000)).toBeUndefined();
  });

  it("passes implicit TLS with a trusted certificate, and tells TLS 1.0/1.1 accepted from refused", async () => {
    const open = await implicitServer("TLSv1");
    const first = await checkImplicitTls(ctx(), open);
    expect(first.rows.map((r) => [r.check, r.status])).toEqual([
      ["implicit-tls", "PASS"], ["certificate-trusted", "PASS"], ["certificate-hostname", "PASS"], ["certificate-expiry", "PASS"], ["auth-offered", "PASS"],
    ]);
    expect(first.certificateUsable).toBe(true);
    expect((await checkLegacyTls(ctx(), open, false)).map((r) => [r.check, r.status, r.detail.split(" (")[0]])).toEqual([
      ["tls1.0-refused", "FAIL", "TLSv1 accepted"], ["tls1.1-refused", "FAIL", "TLSv1.1 accepted"],
    ]);
    const strict = await implicitServer("TLSv1.2");
    expect((await checkLegacyTls(ctx(), strict, false)).map((r) => [r.status, r.detail])).toEqual([
      ["PASS", "TLSv1 refused: TLS handshake failed: tlsv1 alert protocol version"],
      ["PASS", "TLSv1.1 refused: TLS handshake failed: tlsv1 alert protocol version"],
    ]);
  });

  it("tells a wrong name from an untrusted chain: each is its own finding", async () => {
    const port = await implicitServer("TLSv1.2");
    const base = ctx();
    const wrongName = await checkImplicitTls({ ...base, target: { ...base.target, hostname: "other.test" } }, port);
    expect(wrongName.rows.filter((r) => r.status !== "PASS").map((r) => r.check)).toEqual(["certificate-hostname"]);
    const untrusted = await checkImplicitTls({ ...base, trust: { ca: [], source: "an empty store" } }, port);
    expect(untrusted.rows.filter((r) => r.status !== "PASS").map((r) => [r.check, r.detail])).toEqual([
      ["certificate-trusted", "DEPTH_ZERO_SELF_SIGNED_CERT (against an empty store)"],
    ]);
    expect(wrongName.certificateUsable || untrusted.certificateUsable).toBe(false);
  });

  it("logs in with PLAIN and LOGIN through nodemailer and submits a message; a wrong password fails with the reply", async () => {
    const port = await implicitServer("TLSv1.2");
    const good = await checkAuth(ctx({ credentials: { user: USER, password: PASSWORD }, send: { from: USER, to: "sink@mail.test" } }), port, true, true);
    expect(good.map((r) => [r.check, r.status, r.detail])).toEqual([
      ["auth-plain", "PASS", `${USER} authenticated`], ["send", "PASS", `${USER} -> sink@mail.test: 250 2.0.0 Ok: queued as FAKE1`], ["auth-login", "PASS", `${USER} authenticated`],
    ]);
    const bad = await checkAuth(ctx({ credentials: { user: USER, password: "Wrong-Pw-1" } }), port, true, true);
    expect(bad.map((r) => [r.check, r.status])).toEqual([["auth-plain", "FAIL"], ["auth-login", "FAIL"]]);
    expect(bad[0]?.detail).toBe(`${USER}: 535 5.7.8 Error: authentication failed`);
    expect(JSON.stringify(bad)).not.toContain("Wrong-Pw-1");
  });

  it("refuses relaying without AUTH at RCPT, inside implicit TLS", async () => {
    const row = await checkRelay(ctx(), await implicitServer("TLSv1.2"), false);
    // This fake takes no MAIL before AUTH, which is a refusal too.
    expect(row).toMatchObject({ check: "relay-refused", status: "PASS", detail: "MAIL FROM refused without AUTH: 530 5.7.0 Must issue a STARTTLS command first" });
  });

  it("fails a plaintext port that offers AUTH, takes MAIL FROM and has no STARTTLS", async () => {
    const port = await start(net.createServer((s) => converse(s, ["mail.test", "PIPELINING", "AUTH=PLAIN LOGIN"], { mailBeforeAuth: true })));
    const r = await checkStartTls(ctx(), port);
    expect(r.tls).toBe(false);
    expect(r.rows.map((x) => [x.check, x.status, x.detail])).toEqual([
      ["starttls", "FAIL", "STARTTLS not offered"],
      ["no-auth-before-tls", "FAIL", "AUTH LOGIN PLAIN advertised before STARTTLS: passwords may travel in clear"],
      ["mail-refused-before-tls", "FAIL", "MAIL FROM accepted in clear: 250 2.1.0 Ok"],
    ]);
  });

  it("turns silence, a hang-up and a refused port into FAIL rows within the timeout", async () => {
    const silent = await start(net.createServer(() => undefined));
    const hangup = await start(net.createServer((s) => s.destroy()));
    const closed = await start(net.createServer());
    servers.pop()?.close(); // nothing listens there any more
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const quick = ctx({ timeoutMs: 300 });
    expect((await checkStartTls(quick, silent)).rows).toEqual([{ host: "fake", port: silent, check: "connect", status: "FAIL", detail: "greeting: no answer within 0.3 s" }]);
    expect((await checkImplicitTls(quick, silent)).rows[0]?.detail).toMatch(/^TLS connect to 127\.0\.0\.1:\d+: no answer within 0\.3 s$/);
    expect((await checkStartTls(quick, hangup)).rows[0]?.detail).toMatch(/connection (closed by the server|reset by the server)/);
    expect((await checkStartTls(quick, closed)).rows[0]?.detail).toBe("connection refused");
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
