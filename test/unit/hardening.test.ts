/**
 * Values an attacker or a careless operator might try, class by class: each must fail validation with the path of
 * its key and a reason, before any host is touched.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, parseHost, parseStack } from "../../components/config/parse";
import { isProductionStackName } from "../../components/config/schema";
import { dovecotHash } from "../../components/dovecot/passwordHash";
import { HOST_KEY, validHost, withChange, type Mutable } from "./fixtures";

function problemsOf(input: unknown): string {
  try {
    parseHost(input);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join("\n");
    throw e;
  }
  throw new Error("expected a ConfigError, but the config was accepted");
}

const REAL_HASH = dovecotHash("alice's password", "alice@example.com");
const hashUser = (hash: string) => (h: Mutable) => (h.users = [{ name: "bob@example.com", passwordHash: hash }]);
const ED25519_BLOB = HOST_KEY.split(" ")[1] ?? "";

const refused: [string, (h: Mutable) => void, string][] = [
  // 1. Field injection into the passwd-file: a hash is one field, of its scheme's form.
  ["extra passwd-file fields after the scheme", hashUser("{SHA512-CRYPT}::::::nopassword=y"), "args.users[0].passwordHash: is not a well-formed {SHA512-CRYPT} hash"],
  ["another user's identity appended to a real hash", hashUser(`${REAL_HASH}::::::user=alice@example.com`), "args.users[0].passwordHash: is not a well-formed {SHA512-CRYPT} hash"],
  ["a hash with white space", hashUser(`${REAL_HASH} x`), "args.users[0].passwordHash: is not a well-formed"],
  ["a hash with a newline", hashUser(`${REAL_HASH}\nbob@example.com:{PLAIN}x`), "args.users[0].passwordHash: is not a well-formed"],
  ["an unknown scheme", hashUser("{PLAIN}secret"), "args.users[0].passwordHash: scheme {PLAIN} is not one of"],
  ["a truncated SHA512-CRYPT", hashUser(REAL_HASH.slice(0, -1)), "args.users[0].passwordHash: is not a well-formed {SHA512-CRYPT} hash"],
  ["bcrypt with cost 99", hashUser(`{BLF-CRYPT}$2y$99$${"a".repeat(53)}`), "args.users[0].passwordHash: is not a well-formed {BLF-CRYPT} hash"],
  ["argon2id without parameters", hashUser("{ARGON2ID}$argon2id$v=19$AAAA$BBBB"), "args.users[0].passwordHash: is not a well-formed {ARGON2ID} hash"],
  ["a login with a colon", (h) => (h.users[0].name = "a:b@example.com"), "args.users[0].name: may only contain"],
  ["a login that starts a comment", (h) => (h.users[0].name = "#alice@example.com"), "args.users[0].name: may only contain"],
  // The Postfix maps: one key per sender, never a comment or a quoted string.
  ["a sender that postmap reads as a comment", (h) => (h.users[0].senders = ["#x@example.com"]), "args.users[0].senders[0]: must be an address"],
  ["a quoted local part", (h) => (h.users[0].senders = ['"a b"@example.com']), "args.users[0].senders[0]: must be an address"],
  ["an address literal", (h) => (h.users[0].senders = ["a@[192.0.2.1]"]), "args.users[0].senders[0]: must be an address"],
  ["a domain without a dot", (h) => (h.users[0].senders = ["@localhost"]), "args.users[0].senders[0]: must be an address"],
  ["a sender with a space", (h) => (h.users[0].senders = ["a b@example.com"]), "args.users[0].senders[0]: must be an address"],
  // master.cf -o values: one token.
  ["an -o value with a space", (h) => (h.postfixExtraSettings = { smtpd_banner: "$myhostname ESMTP" }), "args.postfixExtraSettings.smtpd_banner: must be one token"],
  ["an -o value with a newline", (h) => (h.postfixExtraSettings = { smtpd_banner: "a\n-o x=y" }), "args.postfixExtraSettings.smtpd_banner: must be one token"],
  ["an -o value in braces", (h) => (h.postfixExtraSettings = { smtpd_banner: "{a b}" }), "args.postfixExtraSettings.smtpd_banner: must be one token"],
  ["a parameter name with a slash", (h) => (h.postfixExtraSettings = { "465/inet/x": "y" }), "must be a Postfix parameter name"],
  // 2. Escape hatches that would switch a guarantee off.
  ["587 back to opportunistic TLS", (h) => (h.postfixExtraSettings = { smtpd_tls_security_level: "may" }), "args.postfixExtraSettings.smtpd_tls_security_level: is managed by mail-submission: it carries TLS before AUTH and MAIL"],
  ["AUTH before TLS", (h) => (h.postfixExtraSettings = { smtpd_tls_auth_only: "no" }), "args.postfixExtraSettings.smtpd_tls_auth_only: is managed by mail-submission: it carries AUTH never offered before TLS"],
  ["AUTH switched off", (h) => (h.postfixExtraSettings = { smtpd_sasl_auth_enable: "no" }), "it carries AUTH required"],
  ["another SASL socket", (h) => (h.postfixExtraSettings = { smtpd_sasl_path: "inet:10.0.0.1:12345" }), "it carries AUTH required"],
  ["open relay", (h) => (h.postfixExtraSettings = { smtpd_relay_restrictions: "permit" }), "smtpd_relay_restrictions: is managed by mail-submission: it carries no mail and no relaying without AUTH"],
  ["mail without AUTH", (h) => (h.postfixExtraSettings = { smtpd_recipient_restrictions: "permit" }), "it carries no mail and no relaying without AUTH"],
  ["clients let in", (h) => (h.postfixExtraSettings = { smtpd_client_restrictions: "permit" }), "it carries no mail and no relaying without AUTH"],
  ["XCLIENT for everyone", (h) => (h.postfixExtraSettings = { smtpd_authorized_xclient_hosts: "0.0.0.0/0" }), "it carries no mail and no relaying without AUTH"],
  ["465 without implicit TLS", (h) => (h.postfixExtraSettings = { smtpd_tls_wrappermode: "no" }), "it carries implicit TLS on 465"],
  ["TLS 1.0 back", (h) => (h.postfixExtraSettings = { smtpd_tls_mandatory_protocols: "!SSLv2" }), "it carries TLS 1.2 or newer only"],
  ["weak ciphers", (h) => (h.postfixExtraSettings = { smtpd_tls_mandatory_ciphers: "low" }), "it carries the deployed certificate and strong ciphers only"],
  ["the sender check off", (h) => (h.postfixExtraSettings = { smtpd_sender_login_maps: "static:alice" }), "it carries the sender check"],
  ["the brute-force limit off", (h) => (h.postfixExtraSettings = { smtpd_client_auth_rate_limit: "0" }), "it carries the brute-force limits"],
  // Who is trusted or exempt: each of these would widen it for our services (mynetworks is the default of the limits' exceptions).
  ["every client exempt from the limits", (h) => (h.postfixExtraSettings = { mynetworks: "0.0.0.0/0" }), "args.postfixExtraSettings.mynetworks: is managed by mail-submission: it carries who is trusted or exempt from the limits"],
  ["mynetworks by style", (h) => (h.postfixExtraSettings = { mynetworks_style: "subnet" }), "mynetworks_style: is managed by mail-submission: it carries who is trusted"],
  ["the limits' legacy exceptions", (h) => (h.postfixExtraSettings = { smtpd_client_connection_limit_exceptions: "0.0.0.0/0" }), "it carries who is trusted"],
  ["VERP for every client", (h) => (h.postfixExtraSettings = { authorized_verp_clients: "0.0.0.0/0" }), "it carries who is trusted"],
  ["mynetworks by parent domain", (h) => (h.postfixExtraSettings = { parent_domain_matches_subdomains: "mynetworks" }), "it carries who is trusted"],
  ["older defaults for everything", (h) => (h.postfixExtraSettings = { compatibility_level: "0" }), "it carries who is trusted"],
  ["bare newlines for some", (h) => (h.postfixExtraSettings = { smtpd_forbid_bare_newline_exclusions: "0.0.0.0/0" }), "it carries who is trusted"],
  ["SASL not required of some", (h) => (h.postfixExtraSettings = { smtpd_sasl_exceptions_networks: "0.0.0.0/0" }), "it carries AUTH required"],
  ["a restriction class that lets clients in", (h) => (h.postfixExtraSettings = { letin: "permit_mynetworks" }), "args.postfixExtraSettings.letin: may not carry a permit keyword"],
  ["a bare permit in a list", (h) => (h.postfixExtraSettings = { letin: "check_client_access,permit" }), "may not carry a permit keyword"],
  ["Dovecot TLS off", (h) => (h.dovecotExtraConfig = "ssl = no"), "args.dovecotExtraConfig: line 1: 'ssl' is managed by mail-submission"],
  ["Dovecot cleartext passwords (2.3)", (h) => (h.dovecotExtraConfig = "disable_plaintext_auth = no"), "line 1: 'disable_plaintext_auth' is managed by mail-submission: it carries no password before TLS"],
  ["Dovecot cleartext passwords (2.4)", (h) => (h.dovecotExtraConfig = "auth_allow_cleartext = yes"), "'auth_allow_cleartext' is managed"],
  ["a passdb that takes any password", (h) => (h.dovecotExtraConfig = "passdb {\n  driver = static\n  args = nopassword=y\n}"), "line 1: 'passdb' is managed"],
  ["a guarded setting inside a block", (h) => (h.dovecotExtraConfig = "protocol imap {\n  ssl = no\n}"), "line 2: 'ssl' is managed"],
  ["the SASL socket moved", (h) => (h.dovecotExtraConfig = "service auth {\n}"), "line 1: 'service' is managed"],
  ["trusted networks skip the TLS rule", (h) => (h.dovecotExtraConfig = "login_trusted_networks = 0.0.0.0/0"), "'login_trusted_networks' is managed"],
  // 3. Values that would only fail at deploy time.
  ["a step-data marker in the Dovecot text", (h) => (h.dovecotExtraConfig = "#@ passwd"), "args.dovecotExtraConfig: line 1: '#@ passwd' is reserved"],
  ["an include", (h) => (h.dovecotExtraConfig = "!include /tmp/evil.conf"), "args.dovecotExtraConfig: line 1: includes (!include) are not allowed"],
  ["an unclosed section", (h) => (h.dovecotExtraConfig = "plugin {"), "args.dovecotExtraConfig: 1 section(s) not closed"],
  ["a stray brace", (h) => (h.dovecotExtraConfig = "}"), "args.dovecotExtraConfig: line 1: '}' closes no section"],
  ["not a setting", (h) => (h.dovecotExtraConfig = "just words"), "line 1: 'just words' is neither"],
  ["an IPv6 zone id", (h) => (h.firewall = { allow: { submission: ["fe80::1%eth0/64"] } }), "args.firewall.allow.submission[0]: must be an IPv4 or IPv6 address or CIDR such as 192.0.2.0/24 or 2001:db8::/32: 'fe80::1%eth0/64' IPv6 zone ids"],
  ["a zero-padded prefix", (h) => (h.firewall = { allow: { submission: ["10.0.0.0/08"] } }), "'10.0.0.0/08' the prefix length must be a plain number"],
  ["an octal-looking octet", (h) => (h.firewall = { allow: { submission: ["010.0.0.0/8"] } }), "'010.0.0.0/8' is not an IPv4 or IPv6 address"],
  ["host bits set (IPv4)", (h) => (h.firewall = { allow: { submission: ["10.0.0.1/8"] } }), "'10.0.0.1/8' has host bits set (the network is 10.0.0.0/8)"],
  ["host bits set (IPv6)", (h) => (h.firewall = { allow: { submissions: ["2001:db8::1/32"] } }), "args.firewall.allow.submissions[0]: must be an IPv4 or IPv6 address or CIDR such as 192.0.2.0/24 or 2001:db8::/32: '2001:db8::1/32' has host bits set (the network is 2001:db8::/32)"],
  ["a prefix too long", (h) => (h.firewall = { allow: { submission: ["192.0.2.0/33"] } }), "the prefix length must be at most 32"],
  ["a host key with no key in it", (h) => (h.connection.hostKey = "ssh-ed25519 AAAA"), "args.connection.hostKey: must be an OpenSSH public host key: does not decode to a ssh-ed25519 key"],
  ["a host key of another type than it says", (h) => (h.connection.hostKey = `ssh-rsa ${ED25519_BLOB}`), "args.connection.hostKey: must be an OpenSSH public host key: does not decode to a ssh-rsa key"],
  ["a host key type nobody uses", (h) => (h.connection.hostKey = `ssh-dss ${ED25519_BLOB}`), "args.connection.hostKey: must be an OpenSSH public host key: key type 'ssh-dss' is not one of"],
  ["a bastion user with a space", (h) => (h.connection.bastion = { host: "jump.example.com", user: "a b", privateKey: "k" }), "args.connection.bastion.user: must be a POSIX user name"],
  ["a bastion user that is an option", (h) => (h.connection.bastion = { host: "jump.example.com", user: "-oProxyCommand=x", privateKey: "k" }), "args.connection.bastion.user: must be a POSIX user name"],
  ["a host that is an ssh option", (h) => (h.connection.host = "-oProxyCommand=touch /tmp/x"), "args.connection.host: must be an IP address or a DNS name"],
  ["a bastion host that is an ssh option", (h) => (h.connection.bastion = { host: "-oProxyCommand=x", user: "jump", privateKey: "k" }), "args.connection.bastion.host: must be an IP address or a DNS name"],
];

describe("hardening: refused values, each naming its key", () => {
  it.each(refused)("%s", (_what, change, message) => {
    expect(problemsOf(withChange(change))).toContain(message);
  });

  it("accepts each hash scheme in the form its tools write", () => {
    const hashes = [
      REAL_HASH,
      "{SHA256-CRYPT}$5$rounds=5000$saltsaltsaltsalt$" + "a".repeat(43),
      "{BLF-CRYPT}$2y$05$" + "abcdefghijklmnopqrstuv".padEnd(53, "x"),
      "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$" + "A".repeat(43),
    ];
    for (const hash of hashes) expect(() => parseHost(withChange(hashUser(hash)))).not.toThrow();
  });

  it("normalises the networks it accepts", () => {
    const h = parseHost(withChange((x) => (x.firewall = { allow: { submission: ["2001:DB8:0:0::/32", "192.0.2.7"] } })));
    expect(h.firewall.allow.submission).toEqual(["2001:db8::/32", "192.0.2.7/32"]);
  });
});

describe("hardening: stack-wide rules", () => {
  it("refuses two hosts on one server", () => {
    const a = validHost();
    const b = validHost({ name: "mx2", connection: { ...validHost().connection, host: "192.0.2.10" } });
    expect(() => parseStack({ production: false, hosts: [a, b] })).toThrow("hosts[1].connection.host: 192.0.2.10:22 is already hosts[0]'s server");
    const other = validHost({ name: "mx2", connection: { ...validHost().connection, port: 2222 } });
    expect(parseStack({ production: false, hosts: [a, other] }).hosts).toHaveLength(2);
  });

  it.each(["production", "Production", "PROD", "prod", "prd"])("a stack named %s gets the production rules by default", (name) => {
    expect(isProductionStackName(name)).toBe(true);
  });

  it.each(["staging", "dev", "production-eu", "preprod"])("a stack named %s does not", (name) => {
    expect(isProductionStackName(name)).toBe(false);
  });

  it("production refuses the insecure host key opt-out and self-signed certificates", () => {
    const host = withChange((h) => {
      delete h.connection.hostKey;
      h.connection.insecureSkipHostKeyCheck = true;
    });
    expect(() => parseStack({ production: true, hosts: [host] })).toThrow(/insecureSkipHostKeyCheck: not allowed in production[\s\S]*selfSigned is refused in production/);
  });
});
