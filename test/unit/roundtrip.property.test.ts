/**
 * Property: for every configuration the validator accepts, each rendered host file, read back the way its daemon
 * reads it, holds exactly the intended records, field for field. The generators mix well-formed values with the
 * characters each format treats specially (":", "#", quotes, white space, braces, newlines), so that both sides of
 * the grammar are exercised.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, parseHost } from "../../components/config/parse";
import { renderDovecot, renderPasswdFile } from "../../components/dovecot/render";
import { renderFirewalldRules, renderNftRules, renderOpenings, renderUfwRules } from "../../components/firewall/render";
import { renderPostfix } from "../../components/postfix/render";
import type { HostConfig } from "../../components/config/resolve";
import { readDovecotTopLevel, readMasterOptions, readNftRule, readPasswdFile, readPostfixTable, readRichRule, readUfwRule } from "./formats";
import { validHost } from "./fixtures";

const SPECIAL = [":", "#", " ", "\t", "\n", '"', "{", "}", "\\", "%", "/", "=", ",", "$"];
const CRYPT64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".split("");
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".split("");

const chars = (alphabet: string[], min: number, max: number) => fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }).map((a) => a.join(""));

/** Inserts one character that some format treats specially, somewhere in the string. */
const mutated = (base: fc.Arbitrary<string>) =>
  fc.tuple(base, fc.constantFrom(...SPECIAL), fc.nat()).map(([s, c, at]) => s.slice(0, at % (s.length + 1)) + c + s.slice(at % (s.length + 1)));

const sometimesMutated = (base: fc.Arbitrary<string>) => fc.oneof({ weight: 12, arbitrary: base }, { weight: 1, arbitrary: mutated(base) });

const hash = sometimesMutated(
  fc.oneof(
    fc.tuple(chars(CRYPT64, 1, 16), chars(CRYPT64, 86, 86)).map(([salt, h]) => `{SHA512-CRYPT}$6$rounds=50000$${salt}$${h}`),
    fc.tuple(fc.integer({ min: 4, max: 31 }), chars(CRYPT64, 53, 53)).map(([cost, h]) => `{BLF-CRYPT}$2y$${String(cost).padStart(2, "0")}$${h}`),
    fc.tuple(chars(B64, 16, 22), chars(B64, 43, 43)).map(([salt, h]) => `{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$${salt}$${h}`),
  ),
);

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const domain = fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom("com", "org", "test", "example")).map(([l, tld]) => [...l, tld].join("."));
const sender = sometimesMutated(fc.oneof(fc.emailAddress(), domain.map((d) => `@${d}`)));
const login = fc.tuple(fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,15}$/), domain).map(([l, d]) => `${l}@${d}`);

const v4net = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, bits]) => {
  const n = a.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const masked = bits === 0 ? 0 : Math.floor(n / 2 ** (32 - bits)) * 2 ** (32 - bits);
  return `${[24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join(".")}/${bits}`;
});
const cidr = sometimesMutated(fc.oneof(v4net, fc.ipV4(), fc.ipV6(), fc.ipV6().map((a) => `${a}/128`), fc.constantFrom("0.0.0.0/0", "::/0")));

const SAFE_POSTFIX = ["smtpd_banner", "smtpd_milters", "syslog_name", "smtpd_command_filter", "content_filter", "smtpd_tls_loglevel"];
const postfixValue = fc.oneof({ weight: 8, arbitrary: fc.stringMatching(/^[!-z|~]{0,16}$/) }, { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 16 }) });
const postfixExtra = fc.dictionary(fc.constantFrom(...SAFE_POSTFIX), sometimesMutated(postfixValue), { maxKeys: 3 });

const dovecotSetting = fc
  .tuple(fc.constantFrom("mail_debug", "verbose_proctitle", "login_greeting", "mail_max_userip_connections"), fc.string({ unit: "grapheme-ascii", maxLength: 12 }))
  .map(([k, v]) => `${k} = ${v}`);
const dovecotExtra = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.oneof(dovecotSetting, fc.constant("# a comment"), fc.constant("plugin {\n  x = 1\n}")), { maxLength: 3 }).map((l) => l.join("\n")) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom("ssl = no", "passdb {", "}", "#@ passwd", "!include /x"), fc.string({ maxLength: 20 })), { minLength: 1, maxLength: 3 }).map((l) => l.join("\n")) },
);

const config = fc.record({
  users: fc.uniqueArray(
    fc.record({ name: login, passwordHash: hash, senders: fc.option(fc.array(sender, { minLength: 1, maxLength: 3 }), { nil: undefined }) }),
    { selector: (u) => u.name.toLowerCase(), minLength: 1, maxLength: 4 },
  ),
  allow: fc.array(cidr, { minLength: 1, maxLength: 3 }),
  postfixExtraSettings: postfixExtra,
  dovecotExtraConfig: dovecotExtra,
});

type Generated = typeof config extends fc.Arbitrary<infer T> ? T : never;

/** The config, or undefined when validation refuses it (the other half of the property is the refusal itself). */
function accept(g: Generated): HostConfig | undefined {
  const users = g.users.map((u) => (u.senders === undefined ? { name: u.name, passwordHash: u.passwordHash } : u));
  try {
    return parseHost(validHost({ users, firewall: { allow: { submission: g.allow } }, postfixExtraSettings: g.postfixExtraSettings, dovecotExtraConfig: g.dovecotExtraConfig }));
  } catch (e) {
    if (e instanceof ConfigError) return undefined;
    throw e;
  }
}

const RUNS = 400;

describe("rendered files read back as exactly the intended records", () => {
  let accepted = 0;
  let refused = 0;

  it("holds for generated configurations", () => {
    fc.assert(
      fc.property(config, (g) => {
        const host = accept(g);
        if (host === undefined) {
          refused += 1;
          return;
        }
        accepted += 1;

        // passwd-file: one line per user, the login and the hash as its only two fields.
        const entries = host.users.map((u) => ({ name: u.name, hash: u.passwordHash ?? "" }));
        expect(readPasswdFile(renderPasswdFile(entries))).toEqual(entries.map((e) => ({ user: e.name, fields: [e.hash] })));

        // sender_login: every sender a key of its own, owned by exactly the logins that list it.
        const plan = renderPostfix(host);
        const wanted = new Map<string, string[]>();
        for (const u of host.users) for (const s of u.senders ?? [u.name]) wanted.set(s.toLowerCase(), [...(wanted.get(s.toLowerCase()) ?? []), u.name]);
        const table = readPostfixTable(plan.files.sender_login ?? "");
        expect(new Map([...table].map(([k, v]) => [k, v.split(",")]))).toEqual(wanted);

        // master.cf: each service's -o settings come back as set.
        for (const service of plan.services) expect(Object.fromEntries(readMasterOptions(service.params))).toEqual(service.params);

        // Firewalls: the sources per port are exactly the allowed networks; an "everyone" entry of a family
        // stands for all of that family's networks.
        const allow = host.firewall.allow.submission;
        const perFamily = (any: string, v4: boolean) => {
          const mine = allow.filter((c) => c.includes(".") === v4);
          return mine.includes(any) ? [any] : mine;
        };
        const expected = [...perFamily("0.0.0.0/0", true), ...perFamily("::/0", false)];
        const everyone = (list: string[]) => (list.includes("0.0.0.0/0") && list.includes("::/0") ? ["any"] : list);
        const nft = renderNftRules(renderOpenings(host))
          .map((r) => ({ families: r.split("|")[0] ?? "", ...readNftRule(r.split("|")[1] ?? "") }))
          .filter((r) => r.port === 587 && r.families.split(",").includes("inet"));
        expect(new Set(nft.flatMap((r) => r.sources))).toEqual(new Set(expected));
        const ufw = renderUfwRules(renderOpenings(host)).map(readUfwRule).filter((r) => r.port === 587);
        expect(new Set(ufw.map((r) => r.source))).toEqual(new Set(everyone(expected)));
        const rich = renderFirewalldRules(renderOpenings(host)).filter((r) => r.startsWith("--add-rich-rule=")).map(readRichRule);
        for (const attrs of rich.filter((a) => a["port.port"] === "587")) expect(expected).toContain(attrs.address);

        // Dovecot: the extra lines never override what carries the guarantees.
        expect(readDovecotTopLevel(renderDovecot(host, "2.3")).get("disable_plaintext_auth")).toBe("yes");
        expect(readDovecotTopLevel(renderDovecot(host, "2.4")).get("auth_allow_cleartext")).toBe("no");
        // Without IMAPS our instance has no TLS listener at all.
        for (const syntax of ["2.3", "2.4"] as const) expect(readDovecotTopLevel(renderDovecot(host, syntax)).get("ssl")).toBe("no");
      }),
      { numRuns: RUNS },
    );
  });

  it("saw both sides of the grammar", () => {
    console.log(`round trip: ${accepted} accepted and ${refused} refused configurations`);
    // Without this, generators that only ever produced refused (or only accepted) values would pass vacuously.
    expect(accepted).toBeGreaterThan(RUNS / 20);
    expect(refused).toBeGreaterThan(RUNS / 20);
  });
});
