/**
 * The SMTP client that verify and the e2e harness share, without a mail server: its reply helpers alone, and the
 * session against tiny scripted servers started here on 127.0.0.1 (plain TCP with a STARTTLS upgrade, and bare TLS
 * for tryTlsHandshake).
 */
import { X509Certificate } from "node:crypto";
import * as net from "node:net";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tryTlsHandshake } from "../../verify/handshake";
import { RawSession, type Endpoint } from "../../verify/session";
import { authMechanisms, dataBlock, enhancedStatus, hasExtension, ReplyParser, replyText } from "../../verify/smtp";
import { CERT, closeServers, KEY, listen, scriptedServer, type Seen } from "./scriptedSmtp";

afterAll(closeServers);

const at = (port: number, timeoutMs = 15_000): Endpoint => ({ address: "127.0.0.1", port, hostname: "127.0.0.1", timeoutMs });

describe("ReplyParser, replyText and enhancedStatus", () => {
  it("parses a single-line reply with an enhanced status code", () => {
    const replies = new ReplyParser().push("554 5.7.1 <x@elsewhere.test>: Relay access denied\r\n");
    expect(replies).toEqual([{ code: 554, lines: ["5.7.1 <x@elsewhere.test>: Relay access denied"] }]);
    expect(enhancedStatus(replies[0])).toBe("5.7.1");
    expect(replyText(replies[0])).toBe("5.7.1 <x@elsewhere.test>: Relay access denied");
  });

  it("joins a multi-line reply and finds no enhanced status when there is none", () => {
    const [r] = new ReplyParser().push("250-mail.test\r\n250-STARTTLS\r\n250 SIZE 10240000\r\n");
    expect(r).toEqual({ code: 250, lines: ["mail.test", "STARTTLS", "SIZE 10240000"] });
    expect(replyText(r)).toBe("mail.test\nSTARTTLS\nSIZE 10240000");
    expect(enhancedStatus(r)).toBeUndefined();
  });

  it("ignores a status whose class differs from the reply code, and accepts a bare code", () => {
    expect(enhancedStatus(new ReplyParser().push("250 5.0.0 odd\r\n")[0])).toBeUndefined();
    const [bare] = new ReplyParser().push("250\r\n");
    expect(bare).toEqual({ code: 250, lines: [""] });
    expect(replyText(bare)).toBe("");
  });

  it("reassembles lines split across chunks and returns several replies from one chunk", () => {
    const p = new ReplyParser();
    expect(p.push("250-first\r\n25")).toEqual([]);
    expect(p.hasPartial).toBe(true);
    expect(p.push("0 2.0.0 sec")).toEqual([]);
    // A UTF-8 character cut in half by TCP must survive (é = c3 a9).
    expect(p.push(Buffer.from([0x6f, 0x6e, 0x64, 0x20, 0xc3]))).toEqual([]);
    const [r] = p.push(Buffer.from([0xa9, 0x0d, 0x0a]));
    expect(r).toEqual({ code: 250, lines: ["first", "2.0.0 second é"] });
    expect(replyText(r)).toBe("first\n2.0.0 second é");
    expect(p.hasPartial).toBe(false);
    expect(p.push("221 2.0.0 Bye\r\n354 go\r\n").map((x) => x.code)).toEqual([221, 354]);
  });

  it("rejects malformed lines and a code change inside a multi-line reply", () => {
    expect(() => new ReplyParser().push("hello\r\n")).toThrow(/not an SMTP reply/);
    expect(() => new ReplyParser().push("250-a\r\n251 b\r\n")).toThrow(/changed its code/);
  });
});

describe("dataBlock", () => {
  it("ends lines with CRLF, doubles a leading dot on every line, and adds the final dot line", () => {
    expect(dataBlock("Subject: t\n\n.dot\r\nend")).toBe("Subject: t\r\n\r\n..dot\r\nend\r\n.\r\n");
    expect(dataBlock("ends well\r\n")).toBe("ends well\r\n.\r\n");
    expect(dataBlock("")).toBe(".\r\n");
  });
});

describe("RawSession against a scripted server", () => {
  const seen: Seen = { authLogin: [], bodies: [] };
  let port = 0;
  beforeAll(async () => {
    port = await listen(scriptedServer(seen));
  });

  it("runs EHLO, STARTTLS, AUTH and mail transactions and returns every reply", async () => {
    const s = await RawSession.open(at(port, 5_000));
    expect(s.greeting.code).toBe(220);
    expect(replyText(s.greeting)).toBe("mail.test ESMTP test");
    const clear = await s.ehlo(); // anything but a 250 would throw
    expect(s.lastReply?.code).toBe(250);
    expect(hasExtension(clear, "starttls")).toBe(true);
    expect(authMechanisms(clear)).toEqual([]);
    expect(s.tlsSocket).toBeUndefined();
    expect(() => s.tlsInfo()).toThrow(/not using TLS/);

    const early = await s.sendMail({ from: "a@local.test", to: ["b@local.test"], data: "x" });
    expect(early).toEqual({ mail: expect.objectContaining({ code: 530 }), rcpt: [] });
    expect(enhancedStatus(early.mail)).toBe("5.7.0");

    expect((await s.startTls({ ca: CERT, servername: "localhost" })).code).toBe(220);
    const info = s.tlsInfo();
    expect(info).toMatchObject({ protocol: "TLSv1.3", authorized: true });
    const fingerprint = new X509Certificate(CERT).fingerprint256;
    expect(info.peerCertificate.fingerprint256).toBe(fingerprint);
    expect(info.sha256).toBe(fingerprint.replaceAll(":", "").toLowerCase());
    // RFC 3207: nothing learnt before TLS counts after it. ehlo() keeps no capabilities; what holds is the new EHLO's.
    const secured = await s.ehlo("me.test");
    expect(secured).toEqual(["PIPELINING", "SIZE 10240000", "AUTH PLAIN LOGIN", "8BITMIME"]);
    expect(authMechanisms(secured)).toEqual(["LOGIN", "PLAIN"]);

    const login = await s.authLogin("user", "wrong");
    expect(login.code).toBe(535);
    expect(enhancedStatus(login)).toBe("5.7.8");
    expect(seen.authLogin).toEqual(["user", "wrong"]);
    expect((await s.authPlain("user@local.test", "pa ss:wörd")).code).toBe(235);
    expect(seen.authPlain).toBe("\0user@local.test\0pa ss:wörd");

    const sent = await s.sendMail({ from: "user@local.test", to: ["x@elsewhere.test", "b@local.test"], data: "Subject: t\n\n.dot\nend" });
    expect(sent.rcpt.map((r) => [r.code, enhancedStatus(r)])).toEqual([[554, "5.7.1"], [250, "2.1.5"]]);
    expect(sent.data?.code).toBe(354);
    expect(sent.end).toEqual({ code: 250, lines: ["2.0.0 Ok: queued as 4XyZ1"] });
    expect(sent.end && enhancedStatus(sent.end)).toBe("2.0.0");
    // CRLF-normalised and dot-stuffed on the wire.
    expect(seen.bodies).toEqual(["Subject: t\r\n\r\n..dot\r\nend\r\n"]);

    const denied = await s.sendMail({ from: "user@local.test", to: ["x@elsewhere.test"], data: "x" });
    expect(denied.data).toBeUndefined();
    expect(denied.rcpt[0]?.code).toBe(554);

    await s.quit();
    expect(s.lastReply).toEqual({ code: 221, lines: ["2.0.0 Bye"] });
    await expect(s.command("NOOP", "NOOP")).rejects.toThrow("NOOP: session closed");
  });

  it("refuses a certificate it cannot verify", async () => {
    const s = await RawSession.open(at(port, 5_000));
    await s.ehlo();
    const failure = await s.startTls({ servername: "localhost" }).then(() => undefined, (e: unknown) => e);
    expect(failure).toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT", message: expect.stringMatching(/self.signed/i) });
    s.close();
  });

  it("speaks implicit TLS (port 465 style) and reads the greeting inside it", async () => {
    const tlsPort = await listen(tls.createServer({ key: KEY, cert: CERT }, (c) => c.resume().write("220 tls.test ESMTP\r\n")));
    const s = await RawSession.open(at(tlsPort), { ca: CERT, servername: "localhost" });
    expect(s.greeting.code).toBe(220);
    expect(s.tlsInfo()).toMatchObject({ authorized: true, protocol: "TLSv1.3" });
    s.close();
  });

  it("connects from the source address it is given, in clear and with implicit TLS", async () => {
    const from: string[] = [];
    const greet = (c: net.Socket): void => {
      from.push(c.remoteAddress ?? "?");
      c.resume().write("220 greeter ESMTP\r\n");
    };
    const plain = await listen(net.createServer(greet));
    const secure = await listen(tls.createServer({ key: KEY, cert: CERT }, greet));
    // Linux answers on all of 127.0.0.0/8, so 127.0.0.2 is a second client address without any setup.
    const second = (p: number): Endpoint => ({ ...at(p, 5_000), localAddress: "127.0.0.2" });
    (await RawSession.open(second(plain))).close();
    (await RawSession.open(second(secure), { ca: CERT, servername: "localhost" })).close();
    (await RawSession.open(at(plain, 5_000))).close();
    expect(from).toEqual(["127.0.0.2", "127.0.0.2", "127.0.0.1"]);
  });

  it("refuses plaintext sent after the STARTTLS 220 (response injection)", async () => {
    const evil = await listen(net.createServer((c) => {
      c.write("220 evil ESMTP\r\n");
      c.on("data", () => c.write("220 go ahead\r\n250 injected\r\n"));
    }));
    const s = await RawSession.open(at(evil, 5_000));
    await expect(s.startTls({ ca: CERT })).rejects.toThrow(/data after its STARTTLS 220/);
    // The injected 250 must never answer a later command.
    await expect(s.command("NOOP", "NOOP")).rejects.toThrow(/server sent data after its STARTTLS 220/);
  });

  it("names the step that timed out, and keeps the last reply seen", async () => {
    // resume(): read and drop what the client sends, else the server never sees its FIN and close() hangs.
    const mute = await listen(net.createServer((c) => c.resume().write("220 mute ESMTP\r\n")));
    const s = await RawSession.open(at(mute, 300));
    await expect(s.ehlo()).rejects.toThrow("EHLO: no answer within 0.3 s");
    expect(s.lastReply).toEqual({ code: 220, lines: ["mute ESMTP"] });
    await s.quit(); // tolerated on a session that is already dead

    const silent = await listen(net.createServer(() => undefined));
    await expect(RawSession.open(at(silent, 300))).rejects.toThrow(/^greeting: no answer within 0\.3 s$/);
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
    const r = await tryTlsHandshake(at(port, 5_000), { starttls: false, minVersion: "TLSv1.1", maxVersion: "TLSv1.1" });
    expect(r).toMatchObject({ ok: true, protocol: "TLSv1.1" });
  });

  it("reports ok:false when the server requires TLS 1.2", async () => {
    const port = await listen(tlsServer({ minVersion: "TLSv1.2" }));
    const r = await tryTlsHandshake(at(port, 5_000), { starttls: false, minVersion: "TLSv1", maxVersion: "TLSv1.1" });
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.error).toMatch(/^TLS handshake: TLS handshake failed: /);
    expect(await tryTlsHandshake(at(port), { starttls: false, minVersion: "TLSv1.2", maxVersion: "TLSv1.3" })).toMatchObject({ ok: true, protocol: "TLSv1.3" });
  });

  it("does the same through STARTTLS", async () => {
    const port = await listen(scriptedServer({ authLogin: [], bodies: [] })); // its TLS context keeps Node's TLSv1.2 minimum
    const ep = at(port, 5_000);
    expect(await tryTlsHandshake(ep, { starttls: true, minVersion: "TLSv1", maxVersion: "TLSv1.1" })).toMatchObject({ ok: false, error: expect.stringMatching(/^STARTTLS handshake: /) });
    expect(await tryTlsHandshake(ep, { starttls: true, minVersion: "TLSv1.2", maxVersion: "TLSv1.2" })).toMatchObject({ ok: true, protocol: "TLSv1.2" });
  });
});
