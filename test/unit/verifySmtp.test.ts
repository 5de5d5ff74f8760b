import { describe, expect, it } from "vitest";
import { describeError, isTlsRefusal, TimeoutError } from "../../verify/errors";
import { authMechanisms, capabilities, describeReply, hasExtension, isRefusal, ReplyParser } from "../../verify/smtp";

describe("verify: SMTP reply parsing", () => {
  it("joins a multi-line reply, across chunks, and keeps what is not finished", () => {
    const p = new ReplyParser();
    expect(p.push("250-mail.example.com\r\n250-PIPEL")).toEqual([]);
    expect(p.hasPartial).toBe(true);
    expect(p.push("INING\r\n250 STARTTLS\r\n220 2.0.0 Ready")).toEqual([{ code: 250, lines: ["mail.example.com", "PIPELINING", "STARTTLS"] }]);
    expect(p.hasPartial).toBe(true);
    expect(p.push("\n")).toEqual([{ code: 220, lines: ["2.0.0 Ready"] }]);
    expect(p.hasPartial).toBe(false);
  });

  it("reads a bare code, a bare LF, and a UTF-8 character split between chunks", () => {
    const p = new ReplyParser();
    const bytes = Buffer.from("250 Grüße\r\n", "utf8");
    const split = bytes.indexOf(0xc3) + 1;
    expect(p.push("354\n")).toEqual([{ code: 354, lines: [""] }]);
    expect(p.push(bytes.subarray(0, split))).toEqual([]);
    expect(p.push(bytes.subarray(split))).toEqual([{ code: 250, lines: ["Grüße"] }]);
  });

  it("refuses what is not a reply, and a multi-line reply that changes its code", () => {
    expect(() => new ReplyParser().push("HTTP/1.1 400 Bad Request\r\n")).toThrow(/not an SMTP reply/);
    expect(() => new ReplyParser().push("250-a\r\n550 b\r\n")).toThrow(/changed its code from 250 to 550/);
  });

  it("lists extensions after the greeting line, and the AUTH mechanisms of both spellings", () => {
    const caps = capabilities({ code: 250, lines: ["mail.example.com", "PIPELINING", "auth PLAIN LOGIN", "AUTH=LOGIN CRAM-MD5", "STARTTLS"] });
    expect(caps).toEqual(["PIPELINING", "AUTH PLAIN LOGIN", "AUTH=LOGIN CRAM-MD5", "STARTTLS"]);
    expect(authMechanisms(caps)).toEqual(["CRAM-MD5", "LOGIN", "PLAIN"]);
    expect(hasExtension(caps, "starttls")).toBe(true);
    expect(hasExtension(caps, "AUTH")).toBe(true);
    expect(hasExtension(["AUTHX FOO"], "AUTH")).toBe(false);
    expect(authMechanisms(["PIPELINING", "SIZE 10240000"])).toEqual([]);
    expect(capabilities({ code: 502, lines: ["not implemented"] })).toEqual([]);
  });

  it("calls any 4xx or 5xx a refusal, and describes a reply on one short line", () => {
    expect(isRefusal({ code: 530, lines: [] })).toBe(true);
    expect(isRefusal({ code: 454, lines: [] })).toBe(true);
    expect(isRefusal({ code: 250, lines: [] })).toBe(false);
    expect(describeReply({ code: 554, lines: ["5.7.1 <b@example.org>: Relay access denied"] })).toBe("554 5.7.1 <b@example.org>: Relay access denied");
    expect(describeReply({ code: 250, lines: ["a", "b"] })).toBe("250 a / b");
    expect(describeReply({ code: 250, lines: ["x".repeat(500)] })).toHaveLength(160);
  });
});

describe("verify: error descriptions", () => {
  const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

  it("names network failures, timeouts and TLS alerts in a few words", () => {
    expect(describeError(err("connect ECONNREFUSED 10.0.0.1:465", "ECONNREFUSED"))).toBe("connection refused");
    expect(describeError(new TimeoutError("connect to 10.0.0.1:465", 10_000))).toBe("connect to 10.0.0.1:465: no answer within 10 s");
    const alert = "C0:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../rec_layer_s3.c:918:SSL alert number 70";
    expect(describeError(err(alert, "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION"))).toBe("TLS handshake failed: tlsv1 alert protocol version");
    expect(describeError(err("certificate has expired", "CERT_HAS_EXPIRED"))).toBe("certificate: certificate has expired (CERT_HAS_EXPIRED)");
    expect(describeError("plain")).toBe("plain");
  });

  it("takes an alert or a reset as the server's refusal, but not our own client's inability or silence", () => {
    expect(isTlsRefusal(err("alert", "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION"))).toBe(true);
    expect(isTlsRefusal(err("reset", "ECONNRESET"))).toBe(true);
    expect(isTlsRefusal(err("Client network socket disconnected before secure TLS connection was established"))).toBe(true);
    expect(isTlsRefusal(err("no protocols available", "ERR_SSL_NO_PROTOCOLS_AVAILABLE"))).toBe(false);
    expect(isTlsRefusal(new TimeoutError("STARTTLS handshake", 1000))).toBe(false);
    expect(isTlsRefusal(err("refused", "ECONNREFUSED"))).toBe(false);
  });
});
