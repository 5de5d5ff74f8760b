/**
 * DKIM: the config's defaults and refusals, the opendkim files read back line by line, the records parsed back into
 * the key they publish, and the Postfix settings that put the signer on our services only.
 */
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseHost, parseStack } from "../../components/config/parse";
import { dkimRecordText, renderDkimRecords, renderPolicySuggestions } from "../../components/dkim/records";
import { dkimAlgorithms, renderKeyTable, renderOpendkimConf, renderOpendkimUnit, renderSigningTable, SIGNED_HEADERS } from "../../components/dkim/render";
import { dkimBundle } from "../../components/dkim/step";
import { MAIN_MILTERS_TOKEN } from "../../components/host/contract";
import { renderPostfix } from "../../components/postfix/render";
import { configProblems, validHost, withChange, type Mutable } from "./fixtures";

const host = (change: (h: Mutable) => void = () => {}) => parseHost(withChange(change));
const signing = (change: (h: Mutable) => void = () => {}) =>
  host((h) => {
    h.dkim = { enabled: true };
    change(h);
  });

/** opendkim.conf(5): `Name value` per line, `#` comments; each name once. */
function readOpendkimConf(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z]+) (\S+)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) throw new Error(`not one opendkim setting: ${line}`);
    if (settings.has(m[1])) throw new Error(`set twice: ${m[1]}`);
    settings.set(m[1], m[2]);
  }
  return settings;
}

/** A TXT record's character-strings, concatenated back (RFC 1035 §3.3.14, RFC 6376 §3.6.2.2). */
function readTxtLine(line: string): { name: string; text: string; strings: string[] } {
  const m = /^(\S+)\. 3600 IN TXT ((?:"[^"]*" ?)+)$/.exec(line);
  if (!m?.[1] || !m[2]) throw new Error(`not a TXT line: ${line}`);
  const strings = [...m[2].matchAll(/"([^"]*)"/g)].map((s) => s[1] ?? "");
  return { name: m[1], text: strings.join(""), strings };
}

/** The tag=value list of a DKIM key record (RFC 6376 §3.2). */
const tags = (text: string) => new Map(text.split(";").map((t) => t.trim().split("=", 2) as [string, string]));

describe("DKIM config", () => {
  it("is off by default, on by default in production, and signs for the users' domains", () => {
    expect(host().dkim.enabled).toBe(false);
    const prod = parseStack({ production: true, hosts: [{ ...validHost(), certificate: { mode: "ca" } }] });
    expect(prod.hosts[0]?.dkim.enabled).toBe(true);
    const h = signing((x) => (x.users = [{ name: "alice@example.com", password: "pw" }, { name: "bob", password: "pw", senders: ["bob@Example.ORG", "@example.net"] }]));
    expect(h.dkim.domains).toEqual(["example.com", "example.net", "example.org"]);
    expect(h.dkim.selector).toBe("mail");
  });

  it("refuses a selector that is not one DNS label, a retired selector that still signs, and nothing to sign for", () => {
    expect(configProblems(() => signing((h) => (h.dkim.selector = "Mail.2026")))).toEqual([expect.stringMatching(/^args\.dkim\.selector: must be one lower-case DNS label/)]);
    expect(configProblems(() => signing((h) => (h.dkim.retiredSelectors = ["old", "mail"])))).toEqual([
      "args.dkim.retiredSelectors[1]: 'mail' is the selector that signs now; retire it by choosing a new dkim.selector",
    ]);
    expect(configProblems(() => signing((h) => (h.dkim.nextSelector = "mail")))).toEqual([
      "args.dkim.nextSelector: 'mail' is already the selector that signs or a retired one; choose a new name",
    ]);
    expect(configProblems(() => signing((h) => (h.users = [])))).toEqual([
      "args.dkim.domains: required: no user's login or sender names a domain to sign for (or set dkim.enabled: false)",
    ]);
  });
});

describe("opendkim files", () => {
  const h = signing((x) => {
    x.dkim.domains = ["example.com", "example.org"];
    x.dkim.ed25519 = true;
  });

  it("one instance per algorithm, signing only, on its own socket that Postfix's group reaches", () => {
    expect(dkimAlgorithms(h)).toEqual(["rsa", "ed25519"]);
    const rsa = readOpendkimConf(renderOpendkimConf("rsa"));
    expect(rsa.get("Mode")).toBe("s");
    expect(rsa.get("SignatureAlgorithm")).toBe("rsa-sha256");
    expect(rsa.get("Socket")).toBe("local:/var/spool/postfix/mail-submission-opendkim/rsa.sock");
    expect(rsa.get("UserID")).toBe("opendkim:postfix");
    expect(rsa.get("UMask")).toBe("0007");
    expect(rsa.get("SigningTable")).toBe("refile:/etc/mail-submission/opendkim/rsa.signingtable");
    expect(rsa.get("SignHeaders")?.split(",")).toEqual(expect.arrayContaining(["From", "To", "Subject", "Date", "Message-ID"]));
    expect(rsa.get("SignHeaders")?.split(",")).toEqual(SIGNED_HEADERS);
    const ed = readOpendkimConf(renderOpendkimConf("ed25519"));
    expect(ed.get("SignatureAlgorithm")).toBe("ed25519-sha256");
    expect(ed.get("Socket")).toBe("local:/var/spool/postfix/mail-submission-opendkim/ed25519.sock");
  });

  it("key and signing tables: each domain with its selector and key, From patterns for exactly those domains", () => {
    const rows = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.split(" "));
    expect(rows(renderKeyTable(h, "rsa"))).toEqual([
      ["mail.example.com", "example.com:mail:/etc/mail-submission/opendkim/keys/mail.rsa.key"],
      ["mail.example.org", "example.org:mail:/etc/mail-submission/opendkim/keys/mail.rsa.key"],
    ]);
    expect(rows(renderKeyTable(h, "ed25519"))[0]).toEqual(["mail-ed25519.example.com", "example.com:mail-ed25519:/etc/mail-submission/opendkim/keys/mail-ed25519.ed25519.key"]);
    expect(rows(renderSigningTable(h, "rsa"))).toEqual([
      ["*@example.com", "mail.example.com"],
      ["*@example.org", "mail.example.org"],
    ]);
  });

  it("the template unit runs each instance on its own configuration", () => {
    expect(renderOpendkimUnit()).toContain("ExecStart=/usr/sbin/opendkim -f -x /etc/mail-submission/opendkim/%i.conf\n");
  });

  it("the step's bundle says where every file goes, and carries each algorithm's key; none with DKIM off", () => {
    const bundle = dkimBundle(h, { rsa: "RSA-PEM", ed25519: "ED-PEM" });
    expect(bundle).toContain(
      "#@ layout\nrsa mail-submission-opendkim@rsa /etc/mail-submission/opendkim/rsa.conf /etc/mail-submission/opendkim/rsa.keytable " +
        "/etc/mail-submission/opendkim/rsa.signingtable /etc/mail-submission/opendkim/keys/mail.rsa.key /var/spool/postfix/mail-submission-opendkim/rsa.sock\n",
    );
    expect(bundle).toContain("#@ key.ed25519\nED-PEM\n");
    expect(dkimBundle(host(), {})).toContain("#@ layout\n#@ end");
  });
});

describe("DKIM records", () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "pem", type: "spki" }).toString();
  const ed = generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }).toString();

  it("publish the RSA key's SubjectPublicKeyInfo and the bare Ed25519 key, each under its selector and domain", () => {
    const lines = renderDkimRecords(["example.com"], [
      { algorithm: "rsa", selector: "mail", publicKeyPem: rsa },
      { algorithm: "ed25519", selector: "mail-ed25519", publicKeyPem: ed },
    ]);
    const [r, e] = lines.map(readTxtLine);
    expect(r?.name).toBe("mail._domainkey.example.com");
    const rt = tags(r?.text ?? "");
    expect([rt.get("v"), rt.get("k")]).toEqual(["DKIM1", "rsa"]);
    const key = createPublicKey({ key: Buffer.from(rt.get("p") ?? "", "base64"), format: "der", type: "spki" });
    expect(key.export({ format: "pem", type: "spki" })).toBe(rsa);
    // An RSA-2048 record is longer than one character-string may be: split, every part at most 255 octets.
    expect(r?.strings.length).toBeGreaterThan(1);
    for (const s of r?.strings ?? []) expect(s.length).toBeLessThanOrEqual(255);
    expect(e?.name).toBe("mail-ed25519._domainkey.example.com");
    const et = tags(e?.text ?? "");
    expect(et.get("k")).toBe("ed25519");
    const raw = Buffer.from(et.get("p") ?? "", "base64");
    expect(raw.length).toBe(32);
    const spki = createPublicKey(ed).export({ format: "der", type: "spki" });
    expect(raw.equals(spki.subarray(spki.length - 32))).toBe(true);
    expect(dkimRecordText({ algorithm: "ed25519", selector: "x", publicKeyPem: ed })).toBe(e?.text);
  });

  it("suggest SPF naming this host and a DMARC policy that starts with reports", () => {
    expect(renderPolicySuggestions(["example.com"], "mail.example.com")).toEqual([
      'example.com. 3600 IN TXT "v=spf1 a:mail.example.com ~all"',
      '_dmarc.example.com. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"',
    ]);
  });
});

describe("the signer on our services only", () => {
  it("comes after main.cf's own milters and defers mail when it does not answer; nothing with DKIM off", () => {
    const on = renderPostfix(signing((h) => (h.dkim.ed25519 = true))).services[0]?.params ?? {};
    expect(on.smtpd_milters).toBe(`${MAIN_MILTERS_TOKEN}unix:/var/spool/postfix/mail-submission-opendkim/rsa.sock,unix:/var/spool/postfix/mail-submission-opendkim/ed25519.sock`);
    expect(on.milter_default_action).toBe("tempfail");
    const off = renderPostfix(host()).services[0]?.params ?? {};
    expect(off.smtpd_milters).toBeUndefined();
  });

  it("the escape hatch cannot take the signer off, make a dead signer let mail through, or hide the login from it", () => {
    for (const [name, value] of [["smtpd_milters", "inet:127.0.0.1:8891"], ["milter_default_action", "accept"], ["milter_mail_macros", "i"]]) {
      expect(configProblems(() => signing((h) => (h.postfixExtraSettings = { [name as string]: value })))).toEqual([
        `args.postfixExtraSettings.${name}: is managed by mail-submission: it carries DKIM signing of submitted mail, deferred rather than sent unsigned when the signer is down`,
      ]);
    }
  });
});
