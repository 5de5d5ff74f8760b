import * as dgram from "node:dgram";
import * as packet from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkSrv, makeResolver, srvFinding } from "../../verify/checks/srv";
import type { CheckContext } from "../../verify/context";
import type { Target } from "../../verify/types";

const srv = (priority: number, port: number, name: string) => ({ priority, weight: 1, port, name });

describe("verify: SRV records (RFC 6186, RFC 8314 section 5.1)", () => {
  it("passes when a record points at the host on the port, whatever the case or trailing dot", () => {
    expect(srvFinding([srv(0, 465, "Mail.Example.com."), srv(10, 465, "mx2.example.com")], "mail.example.com", 465)).toEqual({
      status: "PASS", detail: "0 1 465 Mail.Example.com., 10 1 465 mx2.example.com",
    });
  });

  it("fails another host, another port, a service published as not available, and no record", () => {
    expect(srvFinding([srv(0, 465, "mx2.example.com")], "mail.example.com", 465).detail).toBe("no record for mail.example.com:465 (found 0 1 465 mx2.example.com)");
    expect(srvFinding([srv(0, 587, "mail.example.com")], "mail.example.com", 465).status).toBe("FAIL");
    expect(srvFinding([{ priority: 0, weight: 0, port: 0, name: "" }], "mail.example.com", 465)).toEqual({ status: "FAIL", detail: "published as not available: 0 0 0 ." });
    expect(srvFinding([], "mail.example.com", 587).detail).toBe("no record for mail.example.com:587 (found none)");
  });
});

describe("verify: SRV lookups through --dns-server ip:port", () => {
  // A one-zone DNS server on loopback, so the resolver choice and the port in --dns-server are really exercised.
  const zone: Record<string, { port: number; target: string }> = {
    "_submissions._tcp.example.com": { port: 465, target: "mail.example.com" },
    "_submission._tcp.example.com": { port: 587, target: "other.example.com" },
  };
  const server = dgram.createSocket("udp4");
  let address = "";

  beforeAll(async () => {
    server.on("message", (msg, rinfo) => {
      const q = packet.decode(msg);
      const question = q.questions?.[0];
      const record = question ? zone[question.name] : undefined;
      const answers = record && question ? [{ type: "SRV" as const, name: question.name, ttl: 60, data: { priority: 0, weight: 1, port: record.port, target: record.target } }] : [];
      const reply = packet.encode({ id: q.id, type: "response", flags: packet.RECURSION_DESIRED | (record ? 0 : 3), questions: q.questions, answers });
      server.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", resolve));
    address = `127.0.0.1:${server.address().port}`;
  });
  afterAll(() => server.close());

  const ctx = (target: Partial<Target>): CheckContext => ({
    target: { label: "mx1", address: "10.0.0.1", hostname: "mail.example.com", services: { submissions: 465, submission: 587 }, ...target },
    options: { timeoutMs: 2000, warnDays: 21, failDays: 7, relayTo: "x@example.org", srvDomains: ["example.com"], dnsServers: [address], port25: false },
    trust: { ca: [], source: "test" },
    now: new Date(),
  });

  it("asks the chosen resolver and judges both services", async () => {
    const rows = await checkSrv(ctx({}), makeResolver([address], 2000), "example.com.");
    expect(rows.map((r) => [r.port, r.check, r.status, r.detail])).toEqual([
      [465, "srv _submissions._tcp.example.com", "PASS", "0 1 465 mail.example.com"],
      [587, "srv _submission._tcp.example.com", "FAIL", "no record for mail.example.com:587 (found 0 1 587 other.example.com)"],
    ]);
  });

  it("reports a missing record as a failed lookup, and skips a service the host does not run", async () => {
    const rows = await checkSrv(ctx({ services: { submission: 587 } }), makeResolver([address], 2000), "example.org");
    expect(rows.map((r) => [r.check, r.status])).toEqual([["srv _submissions._tcp.example.org", "SKIP"], ["srv _submission._tcp.example.org", "FAIL"]]);
    expect(rows[1]?.detail).toMatch(/^DNS lookup failed: /);
  });
});
