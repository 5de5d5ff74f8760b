import { describe, expect, it } from "vitest";
import { ConfigError, parseHost, parseStack } from "../../components/config/parse";
import { validHost, withChange, type Mutable as Obj } from "./fixtures";

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError, but the config was accepted");
}

const stackOf = (hosts: unknown[], production = false, extra: Obj = {}) => ({ production, hosts, ...extra });

describe("a valid host", () => {
  it("gets the documented defaults", () => {
    const h = parseHost(validHost());
    expect(h.connection.port).toBe(22);
    expect(h.certificate).toMatchObject({ mode: "selfSigned", algorithm: "ECDSA-P256" });
    expect(h.authBackend).toBe("passwd-file");
    expect(h.services).toEqual({ submissions: true, submission: true, imaps: false, pop3s: false });
    expect(h.tls.profile).toBe("intermediate");
    expect(h.firewall.backend).toBe("auto");
    expect(h.firewall.allow.submission).toEqual(["0.0.0.0/0", "::/0"]);
    expect(h.senderPolicy).toEqual({ loginMatch: true, hideClientIp: true, systemDomains: [] });
  });

  it("accepts a non-root sudoer, a bastion, a CA certificate and IPv6 sources", () => {
    const h = parseHost(
      withChange((x: Obj) => {
        x.connection.user = "deploy";
        x.connection.bastion = { host: "bastion.example.com", user: "jump", privateKey: "k", hostKey: x.connection.hostKey };
        x.certificate = { mode: "ca", algorithm: "RSA-3072" };
        x.firewall = { allow: { submission: ["2001:db8::/32", "198.51.100.7"] } };
      }),
    );
    expect(h.connection.user).toBe("deploy");
    expect(h.certificate.mode).toBe("ca");
    expect(h.firewall.allow.submission).toEqual(["2001:db8::/32", "198.51.100.7/32"]);
    expect(h.firewall.allow.submissions).toEqual(["0.0.0.0/0", "::/0"]);
  });
});

// Each row: what is wrong, the change, and the message it must produce (the key's path first).
const invalid: [string, (h: Obj) => void, string][] = [
  ["missing hostname", (h) => delete h.hostname, "args.hostname: required"],
  ["hostname not an FQDN", (h) => (h.hostname = "mail"), "args.hostname: must be a fully qualified DNS name"],
  ["hostname with a space", (h) => (h.hostname = "mail example.com"), "args.hostname: must be a fully qualified"],
  ["bad extra SAN", (h) => (h.extraSans = ["*bad*"]), "args.extraSans[0]: must be a fully qualified"],
  ["missing connection", (h) => delete h.connection, "args.connection: required"],
  ["missing connection host", (h) => delete h.connection.host, "args.connection.host: required"],
  ["port out of range", (h) => (h.connection.port = 70000), "args.connection.port:"],
  ["port not a number", (h) => (h.connection.port = "22"), "args.connection.port: Invalid input: expected number"],
  ["user with a space", (h) => (h.connection.user = "bad user"), "args.connection.user: must be a POSIX user name"],
  ["no private key", (h) => delete h.connection.privateKey, "args.connection.privateKey: exactly one of privateKey or privateKeyFile"],
  ["both private key forms", (h) => (h.connection.privateKeyFile = "/etc/hostname"), "args.connection.privateKey: exactly one of"],
  ["unreadable key file", (h) => { delete h.connection.privateKey; h.connection.privateKeyFile = "/nonexistent/key"; }, "args.connection.privateKeyFile: cannot read /nonexistent/key (ENOENT)"],
  ["empty private key", (h) => (h.connection.privateKey = ""), "args.connection.privateKey: must not be empty"],
  ["host key not pinned", (h) => delete h.connection.hostKey, "args.connection.hostKey: required (pin the host key"],
  ["host key malformed", (h) => (h.connection.hostKey = "AAAA"), "args.connection.hostKey: must be an OpenSSH public host key"],
  ["pinned and skipped", (h) => (h.connection.insecureSkipHostKeyCheck = true), "args.connection.insecureSkipHostKeyCheck: cannot be true while hostKey is pinned"],
  ["unknown connection key", (h) => (h.connection.passwd = "x"), "args.connection: unknown key(s) passwd"],
  ["bastion without user", (h) => (h.connection.bastion = { host: "b.example.com", privateKey: "k" }), "args.connection.bastion.user: required"],
  ["unknown certificate mode", (h) => (h.certificate = { mode: "letsencrypt" }), "args.certificate.mode:"],
  ["P-224 is not offered", (h) => (h.certificate = { mode: "selfSigned", algorithm: "ECDSA-P224" }), "args.certificate.algorithm:"],
  ["validity too short", (h) => (h.certificate = { mode: "selfSigned", validityHours: 1 }), "args.certificate.validityHours:"],
  ["provided without key", (h) => (h.certificate = { mode: "provided", chainPem: "x" }), "args.certificate.keyPem: exactly one of keyPem or keyFile is required"],
  ["provided chain file missing", (h) => (h.certificate = { mode: "provided", chainFile: "/nonexistent/chain.pem", keyPem: "k" }), "args.certificate.chainFile: cannot read /nonexistent/chain.pem (ENOENT)"],
  ["user without password", (h) => delete h.users[0].password, "args.users[0].password: exactly one of password or passwordHash"],
  ["user with both", (h) => (h.users[0].passwordHash = "{SHA512-CRYPT}$6$x$y"), "args.users[0].password: exactly one of"],
  ["weak hash scheme", (h) => { delete h.users[0].password; h.users[0].passwordHash = "{PLAIN}secret"; }, "args.users[1].passwordHash".replace("[1]", "[0]")],
  ["user name with colon", (h) => (h.users[0].name = "a:b@example.com"), "args.users[0].name: may only contain"],
  ["duplicate user", (h) => h.users.push({ name: "ALICE@example.com", password: "x" }), "args.users[1].name: duplicate user"],
  ["login not an address, no senders", (h) => (h.users[0].name = "alice"), "args.users[0].senders: required when the login is not an email address"],
  ["bad sender", (h) => (h.users[0].senders = ["not an address"]), "args.users[0].senders[0]: must be an address such as bob@example.com or a domain such as @example.com"],
  ["users with system backend", (h) => (h.authBackend = "system"), "args.users: only used with authBackend passwd-file"],
  ["sender check with system backend", (h) => ((h.authBackend = "system"), (h.users = [])), "args.senderPolicy.systemDomains: required with authBackend system while loginMatch is on"],
  ["unknown auth backend", (h) => (h.authBackend = "ldap"), "args.authBackend:"],
  ["both submission services off", (h) => (h.services = { submissions: false, submission: false }), "args.services: at least one of submissions (465) or submission (587)"],
  ["unknown service", (h) => (h.services = { smtp: true }), "args.services: unknown key(s) smtp"],
  ["unknown TLS profile", (h) => (h.tls = { profile: "old" }), "args.tls.profile:"],
  ["unknown firewall backend", (h) => (h.firewall = { backend: "iptables" }), "args.firewall.backend:"],
  ["bad CIDR", (h) => (h.firewall = { allow: { submission: ["10.0.0.0/33"] } }), "args.firewall.allow.submission[0]: must be an IPv4 or IPv6 address or CIDR"],
  ["empty CIDR list", (h) => (h.firewall = { allow: { submissions: [] } }), "args.firewall.allow.submissions:"],
  ["postfix setting with space", (h) => (h.postfixExtraSettings = { smtpd_banner: "a b" }), "args.postfixExtraSettings.smtpd_banner: must be one token of printable ASCII"],
  ["bad SRV domain", (h) => (h.srvDomains = ["example"]), "args.srvDomains[0]: must be a fully qualified"],
  ["unknown top-level key", (h) => (h.hostnme = "x"), "args: unknown key(s) hostnme"],
  ["bad host name", (h) => (h.name = "MX_1"), "args.name: must be a short lower-case name"],
];

describe("an invalid host is rejected with a message that names the key", () => {
  it("has at least 30 cases", () => expect(invalid.length).toBeGreaterThanOrEqual(30));
  it.each(invalid)("%s", (_what, change, message) => {
    const problems = problemsOf(() => parseHost(withChange(change)));
    expect(problems.join("\n")).toContain(message);
  });
});

describe("stack rules", () => {
  it("names the host index in every message and reports all problems at once", () => {
    const bad1 = withChange((h: Obj) => delete h.hostname);
    const bad2 = withChange((h: Obj) => {
      h.name = "mx2";
      h.users[0].password = "";
    });
    const problems = problemsOf(() => parseStack(stackOf([validHost(), bad1, bad2])));
    expect(problems).toEqual(["hosts[1].hostname: required", "hosts[2].users[0].password: must not be empty"]);
  });

  it("rejects duplicate host names", () => {
    expect(problemsOf(() => parseStack(stackOf([validHost(), validHost()])))).toContain("hosts[1].name: duplicate host name 'mx1'");
  });

  it("requires at least one host", () => {
    expect(problemsOf(() => parseStack(stackOf([])))).toEqual(["hosts: at least one host is required"]);
  });

  it("refuses selfSigned in production unless explicitly allowed", () => {
    expect(problemsOf(() => parseStack(stackOf([validHost()], true)))).toEqual([
      "hosts[0].certificate.mode: selfSigned is refused in production (use ca or provided, or set allowSelfSignedInProduction)",
    ]);
    expect(parseStack(stackOf([validHost()], true, { allowSelfSignedInProduction: true })).hosts).toHaveLength(1);
  });

  it("refuses an unpinned host key in production", () => {
    const host = withChange((h: Obj) => {
      delete h.connection.hostKey;
      h.connection.insecureSkipHostKeyCheck = true;
      h.certificate = { mode: "ca" };
    });
    expect(parseStack(stackOf([host], false)).hosts).toHaveLength(1);
    expect(problemsOf(() => parseStack(stackOf([host], true)))).toEqual([
      "hosts[0].connection.insecureSkipHostKeyCheck: not allowed in production",
    ]);
  });

  it("requires the bastion's host key in production", () => {
    const host = withChange((h: Obj) => {
      h.connection.bastion = { host: "jump.example.com", user: "jump", privateKey: "k" };
      h.certificate = { mode: "ca" };
    });
    expect(problemsOf(() => parseStack(stackOf([host], true)))).toEqual(["hosts[0].connection.bastion.hostKey: required in production"]);
  });
});
