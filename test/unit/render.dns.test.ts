import { describe, expect, it } from "vitest";
import { parseHost } from "../../components/config/parse";
import { renderSrvRecords } from "../../components/dns/render";
import { withChange } from "./fixtures";

describe("SRV records (RFC 6186, RFC 8314 §5.1)", () => {
  it("publish 465 before 587 for each user domain", () => {
    expect(renderSrvRecords(parseHost(withChange(() => {})))).toEqual([
      "_submissions._tcp.example.com. 3600 IN SRV 0 1 465 mail.example.com.",
      "_submission._tcp.example.com. 3600 IN SRV 10 1 587 mail.example.com.",
    ]);
  });

  it("mark a switched-off service as not available, and add IMAPS and POP3S when on", () => {
    const h = parseHost(withChange((x) => ((x.services = { submission: false, imaps: true, pop3s: true }), (x.srvDomains = ["example.org"]))));
    expect(renderSrvRecords(h)).toEqual([
      "_submissions._tcp.example.org. 3600 IN SRV 0 1 465 mail.example.com.",
      "_submission._tcp.example.org. 3600 IN SRV 0 0 0 .",
      "_imaps._tcp.example.org. 3600 IN SRV 0 1 993 mail.example.com.",
      "_pop3s._tcp.example.org. 3600 IN SRV 0 1 995 mail.example.com.",
    ]);
  });

  it("fall back to the hostname's parent domain without users", () => {
    const h = parseHost(withChange((x) => ((x.authBackend = "system"), (x.users = []), (x.senderPolicy = { loginMatch: false }))));
    expect(renderSrvRecords(h)[0]).toBe("_submissions._tcp.example.com. 3600 IN SRV 0 1 465 mail.example.com.");
  });
});
