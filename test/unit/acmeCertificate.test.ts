/**
 * `acme` and `host` certificates as config and as what reaches the host: the schema's refusals name their key, and
 * the rendered lego arguments, environment and systemd units parse back in their own grammars (lego's own flag
 * parser, systemd's key=value lines).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acmeUnits, challengePort, legoArgs, legoEnvironment, renewalDays } from "../../components/certificate/acme";
import { servedFacts } from "../../components/certificate/facts";
import { certificateBundle } from "../../components/certificate/step";
import { parseHost, parseStack } from "../../components/config/parse";
import type { HostConfig } from "../../components/config/resolve";
import { HOST_PATHS } from "../../components/host/contract";
import { configProblems, withChange, type Mutable } from "./fixtures";

const TSIG_SECRET = "c2VjcmV0LXRzaWcta2V5LWZvci10ZXN0cw==";
const dns01 = {
  type: "dns-01",
  provider: "rfc2136",
  credentials: { RFC2136_NAMESERVER: "192.0.2.53:53", RFC2136_TSIG_ALGORITHM: "hmac-sha256.", RFC2136_TSIG_KEY: "mail-submission", RFC2136_TSIG_SECRET: TSIG_SECRET },
  resolvers: ["192.0.2.53:53"],
};

function acmeHost(certificate: Mutable = {}, extraSans: string[] = []): HostConfig {
  return parseHost(withChange((h) => {
    h.certificate = { mode: "acme", acceptTermsOfService: true, ...certificate };
    h.extraSans = extraSans;
  }));
}

type Acme = Extract<HostConfig["certificate"], { mode: "acme" }>;
const acmeOf = (h: HostConfig): Acme => {
  if (h.certificate.mode !== "acme") throw new Error("not an acme host");
  return h.certificate;
};

/** The sections of a rendered bundle, by name. */
function sections(bundle: string): Map<string, string> {
  const out = new Map<string, string>();
  let name = "";
  for (const line of bundle.split("\n")) {
    if (line.startsWith("#@ ")) {
      name = line.slice(3);
      out.set(name, "");
    } else out.set(name, `${out.get(name) ?? ""}${line}\n`);
  }
  return out;
}

/** systemd's unit grammar, strictly: sections, Key=Value lines, comments, blank lines; nothing else. */
function readUnit(text: string): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  let section = "";
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header?.[1] !== undefined) {
      section = header[1];
      continue;
    }
    const kv = /^([A-Za-z]+)=(\S.*)$/.exec(line);
    if (kv?.[1] === undefined || kv[2] === undefined || section === "") throw new Error(`not a unit line: ${line}`);
    const key = `${section}.${kv[1]}`;
    entries.set(key, [...(entries.get(key) ?? []), kv[2]]);
  }
  return entries;
}

describe("acme certificates in the config", () => {
  it("default to http-01, ECDSA-P256, 30 days early, and Let's Encrypt staging outside production", () => {
    const cert = acmeOf(acmeHost());
    expect(cert).toMatchObject({ challenge: { type: "http-01" }, algorithm: "ECDSA-P256", earlyRenewalHours: 720 });
    expect(cert.server).toBe("https://acme-staging-v02.api.letsencrypt.org/directory");
    expect(renewalDays(cert)).toBe(30);
  });

  it("default to Let's Encrypt production in production stacks", () => {
    const host = withChange((h) => (h.certificate = { mode: "acme", acceptTermsOfService: true }));
    const stack = parseStack({ production: true, hosts: [host] });
    expect(stack.hosts[0]?.certificate).toMatchObject({ server: "https://acme-v02.api.letsencrypt.org/directory" });
  });

  it.each([
    ["no agreement to the terms", { acceptTermsOfService: undefined }, "certificate.acceptTermsOfService: must be true"],
    ["a plain-HTTP directory", { server: "http://ca.example/dir" }, "certificate.server: must be an https:// directory URL"],
    ["a directory URL with a space", { server: "https://ca.example/a b" }, "certificate.server:"],
    ["an unknown challenge", { challenge: { type: "dns-02" } }, "certificate.challenge.type: must set type to one of http-01, tls-alpn-01, dns-01"],
    ["a relative webroot", { challenge: { type: "http-01", webroot: "var/www" } }, "certificate.challenge.webroot: must be an absolute path"],
    ["a webroot climbing out", { challenge: { type: "http-01", webroot: "/var/www/../../etc" } }, "certificate.challenge.webroot: must not contain .."],
    ["a provider that is not a code", { challenge: { ...dns01, provider: "rfc2136 --days 1" } }, "certificate.challenge.provider: must be a lego DNS provider code"],
    ["a credential that is not an environment name", { challenge: { ...dns01, credentials: { "bad-name": "x" } } }, "certificate.challenge.credentials.bad-name"],
    ["a credential of two lines", { challenge: { ...dns01, credentials: { RFC2136_TSIG_SECRET: "a\nRFC2136_NAMESERVER=evil" } } }, "certificate.challenge.credentials.RFC2136_TSIG_SECRET: must be one line"],
    ["a resolver without a port", { challenge: { ...dns01, resolvers: ["192.0.2.53"] } }, "certificate.challenge.resolvers[0]: must be host:port"],
    ["RSA-3072, which lego 4.9 cannot make", { algorithm: "RSA-3072" }, "certificate.algorithm:"],
    ["a renewal window under a day", { earlyRenewalHours: 2 }, "certificate.earlyRenewalHours:"],
    ["a CA bundle that is not PEM", { caBundle: "not a certificate" }, "certificate.caBundle: must be PEM certificates"],
    ["an email that is not an address", { email: "hostmaster" }, "certificate.email: must be an email address"],
  ])("refuse %s, naming the key", (_what, change, message) => {
    const problems = configProblems(() =>
      parseHost(withChange((h) => (h.certificate = { mode: "acme", acceptTermsOfService: true, ...change }))),
    );
    expect(problems.join("\n")).toContain(`args.${message}`);
  });
});

describe("host certificates in the config", () => {
  it("take absolute paths and refuse anything else, naming the key", () => {
    const ok = parseHost(withChange((h) => (h.certificate = { mode: "host", chainPath: "/etc/letsencrypt/live/mail.example.com/fullchain.pem", keyPath: "/etc/letsencrypt/live/mail.example.com/privkey.pem" })));
    expect(ok.certificate.mode).toBe("host");
    const bad = configProblems(() => parseHost(withChange((h) => (h.certificate = { mode: "host", chainPath: "fullchain.pem", keyPath: "/etc/ssl/my key.pem" }))));
    expect(bad.join("\n")).toContain("args.certificate.chainPath: must be an absolute path");
    expect(bad.join("\n")).toContain("args.certificate.keyPath: must be an absolute path");
  });
});

describe("what acme mode sends to the host", () => {
  it("gives lego arguments its own flag parser accepts, one per line, for every challenge", () => {
    const path = mkdtempSync(join(tmpdir(), "ms-lego-"));
    for (const challenge of [{ type: "http-01" }, { type: "http-01", webroot: "/var/www/html" }, { type: "tls-alpn-01" }, dns01]) {
      const cert = acmeOf(acmeHost({ challenge, email: "hostmaster@example.com", algorithm: "ECDSA-P384" }, ["smtp.example.com"]));
      const args = legoArgs(cert, ["mail.example.com", "smtp.example.com"]);
      // The host reads them with mapfile: each must survive a split on newlines unchanged.
      expect(args.join("\n").split("\n")).toEqual(args);
      expect(args.slice(args.indexOf("--path"), args.indexOf("--path") + 2)).toEqual(["--path", HOST_PATHS.ACME_DIR]);
      // lego's own parser: `list` reads only the local --path (here: an empty temporary one), so nothing is asked of a CA.
      const withPath = args.map((a) => (a === HOST_PATHS.ACME_DIR ? path : a));
      const out = execFileSync("lego", [...withPath, "list"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      expect(out).toContain("No certificates found");
    }
  });

  it("opens port 80 for http-01 and 443 for tls-alpn-01 only while lego answers them itself", () => {
    expect(challengePort(acmeOf(acmeHost()))).toBe(80);
    expect(challengePort(acmeOf(acmeHost({ challenge: { type: "http-01", webroot: "/var/www/html" } })))).toBeUndefined();
    expect(challengePort(acmeOf(acmeHost({ challenge: { type: "tls-alpn-01" } })))).toBe(443);
    expect(challengePort(acmeOf(acmeHost({ challenge: dns01 })))).toBeUndefined();
  });

  it("keeps the DNS credentials out of lego's arguments and puts them, one NAME=value line each, in its environment", () => {
    const host = acmeHost({ challenge: dns01 });
    const bundle = sections(certificateBundle(host));
    expect(bundle.get("acme-args")).not.toContain(TSIG_SECRET);
    const env = (bundle.get("acme-env") ?? "").trimEnd().split("\n");
    expect(env).toEqual(legoEnvironment(acmeOf(host)));
    const parsed = Object.fromEntries(env.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
    expect(parsed).toEqual(dns01.credentials);
    for (const [name, text] of bundle) {
      if (name !== "acme-env") expect(text, name).not.toContain(TSIG_SECRET);
    }
  });

  it("renders a renewal service and daily timer that parse as systemd units", () => {
    const { service, timer } = acmeUnits();
    const s = readUnit(service);
    expect(s.get("Service.Type")).toEqual(["oneshot"]);
    expect(s.get("Service.ExecStart")).toEqual([`${HOST_PATHS.ACME_RENEW} renew`]);
    const t = readUnit(timer);
    expect(t.get("Timer.OnCalendar")).toEqual(["daily"]);
    expect(t.get("Timer.Persistent")).toEqual(["true"]);
    expect(t.get("Install.WantedBy")).toEqual(["timers.target"]);
  });

  it("renders host mode's path unit over both files, which parses as a systemd unit", () => {
    const host = parseHost(withChange((h) => (h.certificate = { mode: "host", chainPath: "/etc/ssl/mail/fullchain.pem", keyPath: "/etc/ssl/mail/privkey.pem" })));
    const bundle = sections(certificateBundle(host));
    expect(readUnit(bundle.get("watch-path") ?? "").get("Path.PathChanged")).toEqual(["/etc/ssl/mail/fullchain.pem", "/etc/ssl/mail/privkey.pem", "/etc/ssl/mail"]);
    expect(readUnit(bundle.get("watch-service") ?? "").get("Service.ExecStart")).toEqual([HOST_PATHS.CERT_INSTALL]);
    // The installer carries the same paths, and is a whole program (its data ends with the bundle's end line).
    expect(bundle.get("install")).toMatch(/^#!\/bin\/bash\n/);
    expect(bundle.get("install")).toContain("'#@ chain-path' '/etc/ssl/mail/fullchain.pem'");
  });

  it("reads back what the step reports of the pair it serves, and refuses a report without it", () => {
    const sha = "a".repeat(64);
    expect(servedFacts(`sha256=${sha}\nnotAfter=2027-03-01T00:00:00.000Z\n`)).toEqual({ sha256: sha, notAfter: "2027-03-01T00:00:00.000Z" });
    expect(() => servedFacts("backend=nftables\n")).toThrow(/reported no served certificate/);
  });
});

