/**
 * Client autoconfiguration files, read back with real parsers: Mozilla's XML with fast-xml-parser, Apple's profile
 * with plist. What a client would take from them is asserted, not the text.
 */
import fc from "fast-check";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { parse as parsePlist } from "plist";
import { describe, expect, it } from "vitest";
import { loginPlaceholder, renderAutoconfig, renderMozillaAutoconfig } from "../../components/autoconfig/render";
import { renderAppleMobileconfig, stableUuid } from "../../components/autoconfig/mobileconfig";
import { escapeXml } from "../../components/autoconfig/xml";
import { parseHost } from "../../components/config/parse";
import type { HostConfig } from "../../components/config/resolve";
import { PASSWORD, withChange, type Mutable } from "./fixtures";

interface Server {
  "@_type": string;
  hostname: string;
  port: string;
  socketType: string;
  authentication: string;
  username: string;
}
interface ClientConfig {
  clientConfig: {
    "@_version": string;
    emailProvider: { "@_id": string; domain: string[]; displayName: string; incomingServer?: Server[]; outgoingServer?: Server[] };
  };
}

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  // Every value stays the text the client reads: no number parsing.
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => ["domain", "incomingServer", "outgoingServer"].includes(name),
});
/** For the escaping property: the text exactly as written, white space included. */
const exactParser = new XMLParser({ ignoreAttributes: false, parseTagValue: false, parseAttributeValue: false, trimValues: false });

function readMozilla(xml: string | undefined): ClientConfig["clientConfig"]["emailProvider"] {
  if (xml === undefined) throw new Error("no autoconfig file");
  expect(XMLValidator.validate(xml)).toBe(true);
  const doc = xmlParser.parse(xml) as ClientConfig;
  expect(doc.clientConfig["@_version"]).toBe("1.1");
  return doc.clientConfig.emailProvider;
}

function readProfile(text: string | undefined): Record<string, unknown> {
  if (text === undefined) throw new Error("no profile");
  return parsePlist(text) as Record<string, unknown>;
}

const host = (change: (h: Mutable) => void = () => {}): HostConfig => parseHost(withChange(change));
const withImaps = (change: (h: Mutable) => void = () => {}) => host((h) => ((h.services = { imaps: true }), change(h)));

describe("Mozilla autoconfig (config-v1.1.xml)", () => {
  it("names the domain, IMAPS on 993, then 465 with implicit TLS before 587 with STARTTLS", () => {
    const p = readMozilla(renderMozillaAutoconfig(withImaps()));
    expect(p["@_id"]).toBe("example.com");
    expect(p.domain).toEqual(["example.com"]);
    expect(p.displayName).toBe("example.com");
    const common = { hostname: "mail.example.com", authentication: "password-cleartext", username: "%EMAILADDRESS%" };
    expect(p.incomingServer).toEqual([{ "@_type": "imap", port: "993", socketType: "SSL", ...common }]);
    expect(p.outgoingServer).toEqual([
      { "@_type": "smtp", port: "465", socketType: "SSL", ...common },
      { "@_type": "smtp", port: "587", socketType: "STARTTLS", ...common },
    ]);
  });

  it("has no file without IMAPS: Thunderbird refuses a file without an incoming server", () => {
    expect(renderAutoconfig(host())).toEqual({ autoconfigXml: undefined, appleMobileconfig: undefined, autoconfigUrls: [] });
  });

  it("lists every served domain (the SRV records' domains) and the two URLs where each is published", () => {
    const h = withImaps((x) => (x.srvDomains = ["example.org", "example.net"]));
    const out = renderAutoconfig(h);
    expect(readMozilla(out.autoconfigXml).domain).toEqual(["example.org", "example.net"]);
    expect(out.autoconfigUrls).toEqual([
      "https://autoconfig.example.org/mail/config-v1.1.xml",
      "https://example.org/.well-known/autoconfig/mail/config-v1.1.xml",
      "https://autoconfig.example.net/mail/config-v1.1.xml",
      "https://example.net/.well-known/autoconfig/mail/config-v1.1.xml",
    ]);
  });

  it("sends the address as the login when logins are addresses, the local part otherwise", () => {
    const user = (name: string) => ({ name, password: PASSWORD, senders: [`${name.split("@")[0]}@example.com`] });
    expect(loginPlaceholder(withImaps())).toBe("%EMAILADDRESS%");
    const system = withImaps((x) => ((x.authBackend = "system"), (x.users = []), (x.senderPolicy = { systemDomains: ["example.com"] })));
    expect(loginPlaceholder(system)).toBe("%EMAILLOCALPART%");
    expect(readMozilla(renderMozillaAutoconfig(system)).outgoingServer?.map((s) => s.username)).toEqual(["%EMAILLOCALPART%", "%EMAILLOCALPART%"]);
    expect(loginPlaceholder(withImaps((x) => (x.users = [user("alice"), user("bob")])))).toBe("%EMAILLOCALPART%");
    // Mixed: most logins win, addresses a tie, so one local test account does not misdirect every address login.
    expect(loginPlaceholder(withImaps((x) => (x.users = [user("alice@example.com"), user("bob@example.com"), user("probe")])))).toBe("%EMAILADDRESS%");
    expect(loginPlaceholder(withImaps((x) => (x.users = [user("alice@example.com"), user("probe")])))).toBe("%EMAILADDRESS%");
    expect(loginPlaceholder(withImaps((x) => (x.users = [user("alice@example.com"), user("probe"), user("test")])))).toBe("%EMAILLOCALPART%");
  });
});

describe("Apple configuration profile (.mobileconfig)", () => {
  it("is a Configuration with one Mail payload: IMAP 993 over TLS, SMTP 465 over TLS, password auth", () => {
    const profile = readProfile(renderAppleMobileconfig(withImaps()));
    expect(profile).toMatchObject({ PayloadType: "Configuration", PayloadVersion: 1, PayloadIdentifier: "com.example.mail.mail-submission", PayloadRemovalDisallowed: false });
    const content = profile.PayloadContent as Record<string, unknown>[];
    expect(content).toHaveLength(1);
    // Exactly these keys: no EmailAddress, usernames or passwords, so the device asks for them at install.
    expect(content[0]).toEqual({
      EmailAccountDescription: "Mail (mail.example.com)",
      EmailAccountType: "EmailTypeIMAP",
      IncomingMailServerAuthentication: "EmailAuthPassword",
      IncomingMailServerHostName: "mail.example.com",
      IncomingMailServerPortNumber: 993,
      IncomingMailServerUseSSL: true,
      OutgoingMailServerAuthentication: "EmailAuthPassword",
      OutgoingMailServerHostName: "mail.example.com",
      OutgoingMailServerPortNumber: 465,
      OutgoingMailServerUseSSL: true,
      OutgoingPasswordSameAsIncomingPassword: true,
      PayloadDisplayName: "Mail (mail.example.com)",
      PayloadIdentifier: "com.example.mail.mail-submission.mail",
      PayloadType: "com.apple.mail.managed",
      PayloadUUID: stableUuid("mail.mx1.mail.example.com"),
      PayloadVersion: 1,
    });
  });

  it("keeps its PayloadUUIDs across runs and gives each host and payload its own", () => {
    const uuids = (h: HostConfig) => {
      const p = readProfile(renderAppleMobileconfig(h));
      return [p.PayloadUUID, (p.PayloadContent as Record<string, unknown>[])[0]?.PayloadUUID];
    };
    const first = uuids(withImaps());
    expect(uuids(withImaps())).toEqual(first);
    expect(new Set(first).size).toBe(2);
    for (const u of first) expect(u).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(uuids(withImaps((x) => (x.name = "mx2")))).not.toContain(first[0]);
    expect(uuids(withImaps((x) => (x.hostname = "smtp.example.com")))).not.toContain(first[1]);
  });

  it("derives them as RFC 9562 version 5 UUIDs (the RFC's DNS namespace test vector)", () => {
    expect(stableUuid("www.example.com")).toBe("2ED6657D-E927-568B-95E1-2665A8AEA6A2");
  });
});

describe("every combination of services", () => {
  const combos = [
    { submissions: true, submission: true },
    { submissions: true, submission: false },
    { submissions: false, submission: true },
  ].flatMap((s) => [false, true].flatMap((imaps) => [false, true].map((pop3s) => ({ ...s, imaps, pop3s }))));
  const on = (b: boolean) => (b ? "on" : "off");

  for (const services of combos) {
    it(`465 ${on(services.submissions)}, 587 ${on(services.submission)}, IMAPS ${on(services.imaps)}, POP3S ${on(services.pop3s)}`, () => {
      const out = renderAutoconfig(host((h) => (h.services = services)));
      if (!services.imaps && !services.pop3s) {
        expect(out).toEqual({ autoconfigXml: undefined, appleMobileconfig: undefined, autoconfigUrls: [] });
        return;
      }
      const p = readMozilla(out.autoconfigXml);
      // IMAP first when both are on: clients take the first server they can use.
      const incoming = [...(services.imaps ? [["imap", "993", "SSL"]] : []), ...(services.pop3s ? [["pop3", "995", "SSL"]] : [])];
      expect(p.incomingServer?.map((s) => [s["@_type"], s.port, s.socketType])).toEqual(incoming);
      const expected = [...(services.submissions ? [["465", "SSL"]] : []), ...(services.submission ? [["587", "STARTTLS"]] : [])];
      expect(p.outgoingServer?.map((s) => [s.port, s.socketType])).toEqual(expected);
      const all = [...(p.incomingServer ?? []), ...(p.outgoingServer ?? [])];
      expect(all.filter((s) => s.socketType.toLowerCase() === "plain")).toEqual([]);
      const mail = (readProfile(out.appleMobileconfig).PayloadContent as Record<string, unknown>[])[0];
      expect(mail).toMatchObject({
        EmailAccountType: services.imaps ? "EmailTypeIMAP" : "EmailTypePOP",
        IncomingMailServerPortNumber: services.imaps ? 993 : 995,
        IncomingMailServerUseSSL: true,
        OutgoingMailServerPortNumber: services.submissions ? 465 : 587,
        OutgoingMailServerUseSSL: true,
      });
      expect(out.autoconfigUrls).toHaveLength(2);
    });
  }
});

describe("XML escaping", () => {
  // Validation admits no such hostname; the files must stay well-formed and say exactly this even so.
  const hostile = { ...withImaps((x) => (x.srvDomains = ["example.org"])), hostname: `a<b>&"c'.example.com`, srvDomains: [`x&<y>"'.example.org`] };

  it("keeps both files well-formed, and each value reads back as itself", () => {
    const out = renderAutoconfig(hostile);
    const p = readMozilla(out.autoconfigXml);
    expect(p["@_id"]).toBe(`x&<y>"'.example.org`);
    expect(p.domain).toEqual([`x&<y>"'.example.org`]);
    expect([...(p.incomingServer ?? []), ...(p.outgoingServer ?? [])].map((s) => s.hostname)).toEqual(Array(3).fill(`a<b>&"c'.example.com`));
    const mail = (readProfile(out.appleMobileconfig).PayloadContent as Record<string, unknown>[])[0];
    expect(mail?.IncomingMailServerHostName).toBe(`a<b>&"c'.example.com`);
    expect(mail?.OutgoingMailServerHostName).toBe(`a<b>&"c'.example.com`);
  });

  it("round-trips any text XML can carry, in element content and in attributes", () => {
    // \r is left out: XML parsers turn it into \n (XML 1.0 §2.11), which is the format's rule, not an escaping fault.
    const text = fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => !/[\u0000-\u001F\uFFFE\uFFFF]/u.test(s));
    fc.assert(
      fc.property(text, (s) => {
        const doc = `<a v="${escapeXml(s)}">${escapeXml(s)}</a>`;
        expect(XMLValidator.validate(doc)).toBe(true);
        const read = exactParser.parse(doc) as { a: { "@_v": string; "#text"?: string } };
        expect(read.a["@_v"]).toBe(s);
        expect(read.a["#text"] ?? "").toBe(s);
      }),
    );
  });

  it("refuses what XML cannot carry at all", () => {
    expect(() => escapeXml("a\u0000b")).toThrow(/cannot be written into XML/);
    expect(() => escapeXml("\uD800")).toThrow(/cannot be written into XML/);
    expect(escapeXml("tab\tand\nnewline")).toBe("tab\tand\nnewline");
  });
});
