/**
 * The e2e SMTP client, without a mail server: its reply parser alone, and the client against tiny scripted
 * servers started here on 127.0.0.1 (plain TCP with a STARTTLS upgrade, and bare TLS for tryTlsHandshake).
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReplyParser, SmtpSession, tryTlsHandshake } from "../harness/smtp";

const dir = mkdtempSync(join(tmpdir(), "smtp-test-"));
execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
  "-addext", "subjectAltName=DNS:localhost", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1"], { stdio: "ignore" });
const KEY = readFileSync(join(dir, "key.pem"), "utf8");
const CERT = readFileSync(join(dir, "cert.pem"), "utf8");

const servers: net.Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `server` on an ephemeral port of 127.0.0.1 and returns the port; it is closed after the file. */
async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

describe("ReplyParser", () => {
  it("parses a single-line reply with an enhanced status code", () => {
    expect(new ReplyParser().push("554 5.7.1 <x@elsewhere.test>: Relay access denied\r\n")).toEqual([
      { code: 554, enhanced: "5.7.1", lines: ["5.7.1 <x@elsewhere.test>: Relay access denied"], text: "5.7.1 <x@elsewhere.test>: Relay access denied" },
    ]);
  });

  it("joins a multi-line reply and leaves `enhanced` out when there is none", () => {
    const [r] = new ReplyParser().push("250-mail.test\r\n250-STARTTLS\r\n250 SIZE 10240000\r\n");
    expect(r).toEqual({ code: 250, lines: ["mail.test", "STARTTLS", "SIZE 10240000"], text: "mail.test\nSTARTTLS\nSIZE 10240000" });
    expect("enhanced" in r).toBe(false);
  });

  it("ignores a status whose class differs from the reply code, and accepts a bare code", () => {
    expect(new ReplyParser().push("250 5.0.0 odd\r\n")[0].enhanced).toBeUndefined();
    expect(new ReplyParser().push("250\r\n")[0]).toEqual({ code: 250, lines: [""], text: "" });
  });

  it("reassembles lines split across chunks and returns several replies from one chunk", () => {
    const p = new ReplyParser();
    expect(p.push("250-first\r\n25")).toEqual([]);
    expect(p.hasPartial).toBe(true);
    expect(p.push("0 2.0.0 sec")).toEqual([]);
    // A UTF-8 character cut in half by TCP must survive (é = c3 a9).
    expect(p.push(Buffer.from([0x6f, 0x6e, 0x64, 0x20, 0xc3]))).toEqual([]);
    const [r] = p.push(Buffer.from([0xa9, 0x0d, 0x0a]));
    expect(r).toEqual({ code: 250, text: "first\n2.0.0 second é", lines: ["first", "2.0.0 second é"] });
    expect(p.hasPartial).toBe(false);
    expect(p.push("221 2.0.0 Bye\r\n354 go\r\n").map((x) => x.code)).toEqual([221, 354]);
  });

  it("rejects malformed lines and a code change inside a multi-line reply", () => {
    expect(() => new ReplyParser().push("hello\r\n")).toThrow(/malformed/);
    expect(() => new ReplyParser().push("250-a\r\n251 b\r\n")).toThrow(/changed code/);
  });
});

/** What the scripted server saw, for assertions. */
type Seen = { authPlain?: string; authLogin: string[]; bodies: string[] };

/**
 * A scripted Postfix look-alike: STARTTLS, AUTH only after TLS, 530 for MAIL before TLS, relay denied for any
 * recipient outside local.test. Replies are written in awkward chunks to exercise the client's buffering.
 */
function scriptedServer(seen: Seen): net.Server {
  return net.createServer((raw) => {
    let sock: net.Socket = raw;
    let secure = false;
    let buf = "";
    let inData = false;
    let body = "";
    let login: string[] | undefined;
    const send = (s: string): boolean => sock.write(s);
    const onLine = (line: string): void => {
      if (inData) {
        if (line === ".") {
          inData = false;
          seen.bodies.push(body);
          body = "";
          send("250 2.0.0 Ok: queued as 4XyZ1\r\n");
        } else body += `${line}\r\n`;
        return;
      }
      if (login) {
        login.push(Buffer.from(line, "base64").toString());
        if (login.length === 1) send("334 UGFzc3dvcmQ6\r\n");
        else {
          seen.authLogin = login;
          login = undefined;
          send("535 5.7.8 Error: authentication failed\r\n");
        }
        return;
      }
      const [verb, ...rest] = line.split(" ");
      switch (verb.toUpperCase()) {
        case "EHLO":
          send(`250-mail.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n${secure ? "250-AUTH PLAIN LOGIN\r\n" : "250-STARTTLS\r\n"}250 8BITMIME\r\n`);
          break;
        case "STARTTLS":
          send("220 2.0.0 Ready to start TLS\r\n");
          raw.removeAllListeners("data");
          sock = new tls.TLSSocket(raw, { isServer: true, secureContext: tls.createSecureContext({ key: KEY, cert: CERT }) });
          sock.on("data", onData);
          secure = true;
          break;
        case "AUTH":
          if (rest[0] === "PLAIN") {
            seen.authPlain = Buffer.from(rest[1], "base64").toString();
            send("235 2.7.0 Authentication successful\r\n");
          } else {
            login = [];
            send("334 VXNlcm5hbWU6\r\n");
          }
          break;
        case "MAIL":
          send(secure ? "250 2.1.0 Ok\r\n" : "530 5.7.0 Must issue a STARTTLS command first\r\n");
          break;
        case "RCPT":
          send(/@local\.test>$/.test(line) ? "250 2.1.5 Ok\r\n" : "554 5.7.1 <x@elsewhere.test>: Relay access denied\r\n");
          break;
        case "DATA":
          inData = true;
          send("354 End data with <CR><LF>.<CR><LF>\r\n");
          break;
        case "QUIT":
          sock.end("221 2.0.0 Bye\r\n");
          break;
        default:
          send("502 5.5.2 Error: command not recognized\r\n");
      }
    };
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString();
      let i: number;
      while ((i = buf.indexOf("\r\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        onLine(line);
      }
    };
    raw.on("data", onData);
    raw.on("error", () => undefined); // the client may reset the connection; that is not this test's concern
    // The greeting in two writes a tick apart, so the client must buffer a partial line.
    raw.write("220 mail.test ESM");
    setTimeout(() => raw.write("TP test\r\n"), 20);
  });
}

describe("SmtpSession against a scripted server", () => {
  const seen: Seen = { authLogin: [], bodies: [] };
  let port = 0;
  beforeAll(async () => {
    port = await listen(scriptedServer(seen));
  });

  it("runs EHLO, STARTTLS, AUTH and mail transactions and returns every reply", async () => {
    const s = await SmtpSession.connect({ host: "127.0.0.1", port, timeoutMs: 5_000 });
    expect(s.greeting).toMatchObject({ code: 220, text: "mail.test ESMTP test" });
    expect((await s.ehlo()).code).toBe(250);
    expect(s.hasCapability("starttls")).toBe(true);
    expect(s.authMechanisms()).toEqual([]);
    expect(() => s.tlsInfo()).toThrow(/not using TLS/);

    const early = await s.sendMail({ from: "a@local.test", to: ["b@local.test"], data: "x" });
    expect(early).toEqual({ mail: expect.objectContaining({ code: 530, enhanced: "5.7.0" }), rcpt: [] });

    expect((await s.startTls({ ca: CERT, servername: "localhost" })).code).toBe(220);
    const info = s.tlsInfo();
    expect(info).toMatchObject({ protocol: "TLSv1.3", authorized: true });
    expect(info.fingerprint256).toBe(new X509Certificate(CERT).fingerprint256);
    expect(s.capabilities()).toEqual([]); // forgotten at the upgrade: the caller must EHLO again
    await s.ehlo("me.test");
    expect(s.capabilities()).toEqual(["PIPELINING", "SIZE 10240000", "AUTH PLAIN LOGIN", "8BITMIME"]);
    expect(s.authMechanisms()).toEqual(["PLAIN", "LOGIN"]);

    expect(await s.authLogin("user", "wrong")).toMatchObject({ code: 535, enhanced: "5.7.8" });
    expect(seen.authLogin).toEqual(["user", "wrong"]);
    expect((await s.authPlain("user@local.test", "pa ss:wörd")).code).toBe(235);
    expect(seen.authPlain).toBe("\0user@local.test\0pa ss:wörd");

    const sent = await s.sendMail({ from: "user@local.test", to: ["x@elsewhere.test", "b@local.test"], data: "Subject: t\n\n.dot\nend" });
    expect(sent.rcpt.map((r) => [r.code, r.enhanced])).toEqual([[554, "5.7.1"], [250, "2.1.5"]]);
    expect(sent.data?.code).toBe(354);
    expect(sent.end).toMatchObject({ code: 250, enhanced: "2.0.0", text: "2.0.0 Ok: queued as 4XyZ1" });
    // CRLF-normalised and dot-stuffed on the wire.
    expect(seen.bodies).toEqual(["Subject: t\r\n\r\n..dot\r\nend\r\n"]);

    const denied = await s.sendMail({ from: "user@local.test", to: ["x@elsewhere.test"], data: "x" });
    expect(denied.data).toBeUndefined();
    expect(denied.rcpt[0].code).toBe(554);

    await s.quit();
    await expect(s.command("NOOP")).rejects.toThrow(/NOOP.*last reply: 221 2\.0\.0 Bye/);
  });

  it("refuses a certificate it cannot verify", async () => {
    const s = await SmtpSession.connect({ host: "127.0.0.1", port, timeoutMs: 5_000 });
    await s.ehlo();
    await expect(s.startTls({ servername: "localhost" })).rejects.toThrow(/STARTTLS handshake failed: self.signed/i);
    s.close();
  });

  it("speaks implicit TLS (port 465 style) and reads the greeting inside it", async () => {
    const tlsPort = await listen(tls.createServer({ key: KEY, cert: CERT }, (c) => c.resume().write("220 tls.test ESMTP\r\n")));
    const s = await SmtpSession.connect({ host: "127.0.0.1", port: tlsPort, implicitTls: true, tls: { ca: CERT, servername: "localhost" } });
    expect(s.greeting.code).toBe(220);
    expect(s.tlsInfo()).toMatchObject({ authorized: true, protocol: "TLSv1.3" });
    s.close();
  });

  it("refuses plaintext sent after the STARTTLS 220 (response injection)", async () => {
    const evil = await listen(net.createServer((c) => {
      c.write("220 evil ESMTP\r\n");
      c.on("data", () => c.write("220 go ahead\r\n250 injected\r\n"));
    }));
    const s = await SmtpSession.connect({ host: "127.0.0.1", port: evil, timeoutMs: 5_000 });
    await expect(s.startTls({ ca: CERT })).rejects.toThrow(/data after 220/);
    await expect(s.command("NOOP")).rejects.toThrow(/server sent data after its STARTTLS 220/);
  });

  it("names the step that timed out and the last reply seen", async () => {
    // resume(): read and drop what the client sends, else the server never sees its FIN and close() hangs.
    const mute = await listen(net.createServer((c) => c.resume().write("220 mute ESMTP\r\n")));
    const s = await SmtpSession.connect({ host: "127.0.0.1", port: mute, timeoutMs: 300 });
    await expect(s.ehlo()).rejects.toThrow("SMTP EHLO: timed out after 300 ms (last reply: 220 mute ESMTP)");
    await s.quit(); // tolerated on a session that is already dead

    const silent = await listen(net.createServer(() => undefined));
    await expect(SmtpSession.connect({ host: "127.0.0.1", port: silent, timeoutMs: 300 })).rejects.toThrow(/SMTP greeting: timed out/);
  });
});

describe("tryTlsHandshake", () => {
  const tlsServer = (opts: tls.TlsOptions): net.Server => {
    const server = tls.createServer({ key: KEY, cert: CERT, ...opts }, (c) => c.end());
    server.on("tlsClientError", () => undefined); // refused handshakes are the point of these tests
    return server;
  };

  it("negotiates TLS 1.1 with a server that allows it, so a refusal elsewhere is the server's doing", async () => {
    const port = await listen(tlsServer({ minVersion: "TLSv1", ciphers: "DEFAULT@SECLEVEL=0" }));
    const r = await tryTlsHandshake({ host: "127.0.0.1", port, minVersion: "TLSv1.1", maxVersion: "TLSv1.1", timeoutMs: 5_000 });
    expect(r).toMatchObject({ ok: true, protocol: "TLSv1.1" });
  });

  it("reports ok:false when the server requires TLS 1.2", async () => {
    const port = await listen(tlsServer({ minVersion: "TLSv1.2" }));
    const r = await tryTlsHandshake({ host: "127.0.0.1", port, minVersion: "TLSv1", maxVersion: "TLSv1.1", timeoutMs: 5_000 });
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.error).toMatch(/TLS handshake failed/);
    expect(await tryTlsHandshake({ host: "127.0.0.1", port, minVersion: "TLSv1.2", maxVersion: "TLSv1.3" })).toMatchObject({ ok: true, protocol: "TLSv1.3" });
  });

  it("does the same through STARTTLS", async () => {
    const port = await listen(scriptedServer({ authLogin: [], bodies: [] })); // its TLS context keeps Node's TLSv1.2 minimum
    const base = { host: "127.0.0.1", port, starttls: true, timeoutMs: 5_000 } as const;
    expect(await tryTlsHandshake({ ...base, minVersion: "TLSv1", maxVersion: "TLSv1.1" })).toMatchObject({ ok: false, error: expect.stringMatching(/STARTTLS handshake failed/) });
    expect(await tryTlsHandshake({ ...base, minVersion: "TLSv1.2", maxVersion: "TLSv1.2" })).toMatchObject({ ok: true, protocol: "TLSv1.2" });
  });
});
