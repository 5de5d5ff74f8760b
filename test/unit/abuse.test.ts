/**
 * Abuse resistance: the config's defaults and refusals for bans and sending limits, the limiter's configuration read
 * back (JSON, which YAML reads as it is), fail2ban's files read back as INI, the filter matched against real journal
 * lines of Postfix and Dovecot, and the Postfix settings that put the limiters on our services only.
 */
import { describe, expect, it } from "vitest";
import { bannedPorts, renderBanAction, renderFilter, renderJail, renderNftBanTable } from "../../components/bans/render";
import { bansBundle } from "../../components/bans/step";
import { parseHost, parseStack } from "../../components/config/parse";
import { ratelimitPaths } from "../../components/host/contract";
import { packagesBundle } from "../../components/packages/step";
import { renderPostfix } from "../../components/postfix/render";
import { limitReply, LIMITER_DOWN_REPLY, ratelimitKinds, renderRatelimitConf } from "../../components/ratelimit/render";
import { ratelimitBundle } from "../../components/ratelimit/step";
import { configProblems, validHost, withChange, type Mutable } from "./fixtures";

const host = (change: (h: Mutable) => void = () => {}) => parseHost(withChange(change));
const limited = (change: (h: Mutable) => void = () => {}) =>
  host((h) => {
    h.limits = { outbound: true };
    h.bans = { enabled: true };
    change(h);
  });

/** The limiter's file: a comment line, then one JSON document. */
function readLimiterConf(text: string): Record<string, unknown> {
  const [first, ...rest] = text.split("\n");
  expect(first).toMatch(/^# /);
  return JSON.parse(rest.join("\n")) as Record<string, unknown>;
}

/** fail2ban's INI dialect: `[section]`, `key = value`, continuation lines indented; no key twice in a section. */
function readIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  let last = "";
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header?.[1]) {
      current = new Map();
      sections.set(header[1], current);
      continue;
    }
    if (!current) throw new Error(`a setting before any section: ${line}`);
    if (/^\s/.test(line)) {
      current.set(last, `${current.get(last) ?? ""}\n${line.trim()}`);
      continue;
    }
    const m = /^([A-Za-z0-9_.]+) =(?: (.*))?$/.exec(line);
    if (!m?.[1]) throw new Error(`not one setting: ${line}`);
    if (current.has(m[1])) throw new Error(`set twice: ${m[1]}`);
    current.set(m[1], m[2] ?? "");
    last = m[1];
  }
  return sections;
}

/** The filter's regexes as fail2ban uses them: `<ADDR>` stands for an address, captured. */
function failRegexes(filter: string): RegExp[] {
  const value = readIni(filter).get("Definition")?.get("failregex") ?? "";
  return value.split("\n").map((r) => new RegExp(r.replace("<ADDR>", "(?<addr>[0-9a-fA-F:.]+)")));
}

describe("abuse resistance: config", () => {
  it("bans and sending limits are on by default in production stacks only, with defaults a normal user never meets", () => {
    const stack = (production: boolean) => parseStack({ production, allowSelfSignedInProduction: true, hosts: [validHost({ dkim: { enabled: false } })] }).hosts[0];
    expect(stack(true)?.bans.enabled).toBe(true);
    expect(stack(true)?.limits.outbound).toBe(true);
    expect(stack(false)?.bans.enabled).toBe(false);
    expect(stack(false)?.limits.outbound).toBe(false);
    const h = host();
    expect({ ...h.limits, ...h.bans }).toMatchObject({ messagesPerHour: 200, recipientsPerDay: 2000, whenLimiterDown: "defer", maxFailures: 5, findTimeSeconds: 3600, banTimeSeconds: 3600, increment: true, maxBanTimeSeconds: 604800, includeSsh: false });
  });

  it("refuses a per-login limit for a login that does not exist, bans without a firewall, and a ceiling below the first ban", () => {
    expect(configProblems(() => limited((h) => (h.limits.perLogin = { "nobody@example.com": { messagesPerHour: 5 } })))).toEqual(["args.limits.perLogin.nobody@example.com: no user logs in as 'nobody@example.com'"]);
    expect(configProblems(() => limited((h) => (h.firewall = { backend: "none" })))[0]).toMatch(/^args\.bans\.enabled: bans go into the host's firewall/);
    expect(configProblems(() => limited((h) => (h.bans.maxBanTimeSeconds = 60)))).toEqual(["args.bans.maxBanTimeSeconds: shorter than bans.banTimeSeconds (3600)"]);
    expect(configProblems(() => limited((h) => (h.limits.perLogin = { "a b": {} })))[0]).toMatch(/^args\.limits\.perLogin\.a b: may only contain/);
  });

  it("refuses the limiters' Postfix settings in postfixExtraSettings", () => {
    for (const name of ["smtpd_policy_service_default_action", "smtpd_policy_service_timeout", "smtpd_data_restrictions"]) {
      expect(configProblems(() => host((h) => (h.postfixExtraSettings = { [name]: "DUNNO" })))[0]).toMatch(new RegExp(`^args\\.postfixExtraSettings\\.${name}: is managed by mail-submission`));
    }
  });

  it("installs the packages only when asked", () => {
    const wanted = (bundle: string) => /#@ packages\n([^#]*)/.exec(bundle)?.[1]?.trim().split("\n");
    expect(wanted(packagesBundle(limited()))).toEqual(expect.arrayContaining(["policyd-rate-limit", "fail2ban", "python3-systemd"]));
    expect(wanted(packagesBundle(host()))).not.toEqual(expect.arrayContaining(["policyd-rate-limit"]));
    expect(wanted(packagesBundle(host()))).not.toEqual(expect.arrayContaining(["fail2ban"]));
  });
});

describe("abuse resistance: the limiters", () => {
  const h = limited((x) => (x.limits.perLogin = { "Alice@Example.com": { recipientsPerDay: 9 } }));

  it("counts messages per hour and recipients per day by SASL login, each in its own instance, with per-login limits in lower case", () => {
    expect(ratelimitKinds(h)).toEqual(["messages", "recipients"]);
    const messages = readLimiterConf(renderRatelimitConf(h, "messages"));
    const recipients = readLimiterConf(renderRatelimitConf(h, "recipients"));
    expect(messages).toMatchObject({ limits: [[200, 3600]], limits_by_id: {}, count_mode: 2, limit_by_sasl: true, limit_by_ip: false, SOCKET: ratelimitPaths.socket("messages") });
    expect(recipients).toMatchObject({ limits: [[2000, 86400]], limits_by_id: { "alice@example.com": [[9, 86400]] }, count_mode: 1, sqlite_config: { database: ratelimitPaths.db("recipients") } });
    expect(messages.fail_action).toBe(limitReply("messages"));
    expect(limitReply("messages")).toMatch(/^450 4\.7\.1 Sending limit reached: .*; try again later$/);
  });

  it("the database failing is the limiter failing: the same choice", () => {
    expect(readLimiterConf(renderRatelimitConf(h, "messages")).db_error_action).toBe(LIMITER_DOWN_REPLY);
    const permit = limited((x) => (x.limits.whenLimiterDown = "permit"));
    expect(readLimiterConf(renderRatelimitConf(permit, "messages")).db_error_action).toBe("dunno");
  });

  it("asks both at RCPT and at DATA on our services only, before anything permits, and defers when they do not answer", () => {
    const services = renderPostfix(h).services.filter((s) => s.key.endsWith("/inet"));
    const check = (k: "messages" | "recipients") => `check_policy_service,${ratelimitPaths.policy(k)}`;
    for (const s of services) {
      expect(s.params.smtpd_recipient_restrictions).toBe(`${check("messages")},${check("recipients")},permit_sasl_authenticated,reject`);
      expect(s.params.smtpd_data_restrictions).toBe(`${check("recipients")},${check("messages")}`);
      expect(s.params.smtpd_policy_service_default_action).toBe("DEFER");
      // One token each: postconf -P takes no white space.
      for (const v of Object.values(s.params)) expect(v).not.toMatch(/\s/);
    }
    const off = renderPostfix(host()).services[0]?.params;
    expect(off?.smtpd_recipient_restrictions).toBe("permit_sasl_authenticated,reject");
    expect(off?.smtpd_data_restrictions).toBe("");
    expect(off?.smtpd_policy_service_default_action).toBeUndefined();
    expect(renderPostfix(limited((x) => (x.limits.whenLimiterDown = "permit"))).services[0]?.params.smtpd_policy_service_default_action).toBe("DUNNO");
  });

  it("with the limits off the step's layout is empty, so that the host takes the instances away", () => {
    expect(ratelimitBundle(host())).toMatch(/^#@ layout\n#@ /m);
    expect(ratelimitBundle(h)).toMatch(/^#@ layout\nmessages mail-submission-ratelimit@messages \S+\.yaml \S+\.sock\nrecipients /m);
  });
});

describe("abuse resistance: the bans", () => {
  const h = limited((x) => (x.services = { imaps: true }));

  it("jail: the configured counts and times, nobody exempt but the host itself", () => {
    const jail = readIni(renderJail(h)).get("mail-submission");
    expect(Object.fromEntries(jail ?? [])).toMatchObject({ maxretry: "5", findtime: "3600", bantime: "3600", "bantime.increment": "true", "bantime.maxtime": "604800", ignoreip: "", ignoreself: "true", backend: "systemd" });
  });

  it("bans on every port we serve and on SSH only when asked", () => {
    expect(bannedPorts(h)).toEqual([465, 587, 993]);
    expect(bannedPorts(limited((x) => (x.bans.includeSsh = true)))).toEqual([465, 587, 22]);
    expect(renderNftBanTable(h)).toContain("tcp dport { 465, 587, 993 } reject with tcp reset");
    expect(renderNftBanTable(h)).not.toMatch(/\b22\b/);
    for (const backend of ["nftables", "ufw", "firewalld"] as const) {
      const action = readIni(renderBanAction(h, backend)).get("Definition");
      expect(action?.get("actionban"), backend).toContain("<ip>");
      expect(action?.get("actionunban"), backend).toContain("<ip>");
    }
    expect(readIni(renderBanAction(h, "ufw")).get("Definition")?.get("actionban")).toContain("to any port 465,587,993 proto tcp");
  });

  it("filter: failed logins of Postfix 3.7/3.10 and Dovecot 2.3/2.4 match with the client's address, other lines do not", () => {
    const res = failRegexes(renderFilter(h));
    const addr = (line: string) => res.map((r) => r.exec(line)?.groups?.addr).find((a) => a !== undefined);
    expect(addr("mail postfix/submission/smtpd[812]: warning: unknown[10.231.0.1]: SASL PLAIN authentication failed: ")).toBe("10.231.0.1");
    expect(addr("mail postfix/submissions/smtpd[813]: warning: client.example[2001:db8::7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6")).toBe("2001:db8::7");
    expect(addr("mail dovecot[700]: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<alice@sandbox.test>, method=PLAIN, rip=10.231.0.248, lip=10.231.0.3, TLS, session=<x>")).toBe("10.231.0.248");
    expect(addr("mail dovecot[700]: imap-login: Login aborted: Connection closed (auth failed, 1 attempts in 2 secs) (auth_failed): user=<alice@sandbox.test>, method=PLAIN, rip=10.231.0.248, lip=10.231.0.3, TLS, session=<x>")).toBe("10.231.0.248");
    // Our fault, not the client's: Dovecot not answering is no reason to ban anyone.
    expect(addr("mail postfix/submission/smtpd[812]: warning: unknown[10.231.0.1]: SASL PLAIN authentication failed: Connection lost to authentication server")).toBeUndefined();
    expect(addr("mail dovecot[700]: imap-login: Login: user=<alice@sandbox.test>, method=PLAIN, rip=10.231.0.1, lip=10.231.0.3, mpid=9, TLS")).toBeUndefined();
    const journal = readIni(renderFilter(h)).get("Init")?.get("journalmatch");
    expect(journal).toBe("SYSLOG_IDENTIFIER=postfix/submissions/smtpd + SYSLOG_IDENTIFIER=postfix/submission/smtpd + _SYSTEMD_UNIT=mail-submission-dovecot.service");
  });

  it("with bans off the step says so, so that the host takes the instance away", () => {
    expect(bansBundle(host())).toMatch(/^#@ enabled\n#@ end$/m);
    expect(bansBundle(h)).toMatch(/^#@ enabled\nyes$/m);
    // A change of firewall backend changes the step's data, so the bans move with the openings.
    expect(bansBundle(limited((x) => (x.firewall = { backend: "ufw" })))).not.toBe(bansBundle(limited((x) => (x.firewall = { backend: "nftables" }))));
  });
});
