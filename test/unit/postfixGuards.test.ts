import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostFile, programText } from "../../components/host/program";
import { guardFor } from "../../components/config/grammar";
import { parseHost } from "../../components/config/parse";
import { PERMIT_VALUE_ERE, POSTFIX_GUARDS, TRUST_PARAMS_ERE } from "../../components/postfix/guards";
import { renderPostfix } from "../../components/postfix/render";
import { checkBundle } from "../../components/check/step";
import { validHost, withChange } from "./fixtures";

/**
 * The guards as a class, checked against Postfix itself: `postconf -d` of the Postfix versions of Debian 12 and 13
 * (fixtures), so that a parameter whose default a guarded one takes cannot widen what the guard protects.
 */
const VERSIONS = ["3.7.11", "3.10.13"];
const defaults = new Map<string, string[]>();
for (const v of VERSIONS) {
  for (const line of readFileSync(join(__dirname, `fixtures/postconf-defaults-${v}.txt`), "utf8").split("\n")) {
    const m = /^([a-z0-9_]+) = ?(.*)$/.exec(line);
    if (m?.[1] !== undefined) defaults.set(m[1], [...(defaults.get(m[1]) ?? []), m[2] ?? ""]);
  }
}
const references = (name: string): string[] => (defaults.get(name) ?? []).flatMap((d) => [...d.matchAll(/\$\{?([a-z0-9_]+)/g)].map((m) => m[1] ?? ""));
/** A default that only names where a file lives: it can move the PRNG exchange file, not widen anything. */
const HARMLESS = new Set(["data_directory"]);

/** Everything a setting's default depends on, all the way down. */
function dependsOn(name: string): Set<string> {
  const seen = new Set<string>();
  const todo = references(name);
  while (todo.length > 0) {
    const next = todo.pop() ?? "";
    if (seen.has(next)) continue;
    seen.add(next);
    todo.push(...references(next));
  }
  return seen;
}

describe("the Postfix guards as a class", () => {
  const everything = withChange((h) => ((h.services = { imaps: true }), (h.senderPolicy = { hideClientIp: true, loginMatch: true })));
  const ours = new Set(renderPostfix(parseHost(everything)).services.flatMap((s) => Object.keys(s.params)));

  it("read both Debian versions' defaults", () => {
    expect(defaults.size).toBeGreaterThan(800);
    expect(defaults.get("smtpd_client_event_limit_exceptions")?.[0]).toContain("$mynetworks");
  });

  it("leave no guarded setting that we do not set with a default taken from an unguarded one", () => {
    const open = [...defaults.keys()]
      .filter((name) => guardFor(POSTFIX_GUARDS, name) !== undefined && !ours.has(name))
      .flatMap((name) => [...dependsOn(name)].filter((d) => guardFor(POSTFIX_GUARDS, d) === undefined && !HARMLESS.has(d)).map((d) => `${name} <- ${d}`));
    expect(open).toEqual([]);
  });

  it("put every parameter that names trusted or exempted clients under a guard", () => {
    const trusted = [...defaults.keys()].filter((n) => /networks|_clients$|_hosts$|exceptions|exclusions/.test(n));
    expect(trusted.length).toBeGreaterThan(8);
    expect(trusted.filter((n) => guardFor(POSTFIX_GUARDS, n) === undefined)).toEqual([]);
  });

  it("mean the same as an ERE on the host as in JavaScript", () => {
    const names = [...defaults.keys(), "mynetworks", "letin"];
    const values = ["permit", "permit_mynetworks", "a,permit_sasl_authenticated,reject", "permitted", "x_permit", "reject"];
    const script = [
      `trust='${TRUST_PARAMS_ERE}' permit='${PERMIT_VALUE_ERE}'`,
      `for n in ${names.join(" ")}; do [[ $n =~ $trust ]] && echo "t $n"; done`,
      `for v in ${values.join(" ")}; do [[ $v =~ $permit ]] && echo "p $v"; done`,
    ].join("\n");
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    const js = [...names.filter((n) => new RegExp(TRUST_PARAMS_ERE).test(n)).map((n) => `t ${n}`), ...values.filter((v) => new RegExp(PERMIT_VALUE_ERE).test(v)).map((v) => `p ${v}`)];
    expect(r.stdout.trim().split("\n")).toEqual(js);
    expect(js).toContain("t mynetworks");
    expect(js).toEqual(expect.arrayContaining(["p permit", "p permit_mynetworks", "p a,permit_sasl_authenticated,reject"]));
    expect(js).not.toContain("p permitted");
  });
});

describe("the check step's read-back of our services' overrides", () => {
  /** check.sh's functions with a stand-in postconf that prints the given `postconf -P` lines. */
  function overrides(lines: string[]): string {
    const bundle = checkBundle(parseHost(validHost()), "ab");
    const script = [
      "take_lock() { :; }",
      hostFile("postfix/listen.sh"),
      hostFile("check/check.sh"),
      // Stands in for `postconf -P`, and for `postconf -h inet_protocols` (both families, as Debian's main.cf has it).
      `postconf() { if [ "$1" = -h ]; then echo all; else printf '%s\\n' ${lines.map((l) => `'${l}'`).join(" ")}; fi; }`,
      'apply() { check_postfix_overrides >>"$SCRATCH/stdout"; }',
    ].join("\n");
    const program = `${programText({ name: "check", files: [] })}\n${script}\nmain apply <<'EOF'\n${bundle}EOF\n`;
    const r = spawnSync("bash", ["-s"], { input: program, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
    expect(r.stderr).toBe("");
    return r.stdout;
  }

  it("fails a widened trusted set or a permit keyword on our services, and only there", () => {
    const out = overrides([
      "0.0.0.0:465/inet/smtpd_client_restrictions = permit_sasl_authenticated,reject",
      "0.0.0.0:465/inet/mynetworks = 0.0.0.0/0",
      "[::]:587/inet/letin = permit_mynetworks",
      "[::]:587/inet/smtpd_banner = hello",
      "smtp/inet/mynetworks = 0.0.0.0/0",
    ]);
    expect(out.trim().split("\n")).toEqual([
      "postfix 0.0.0.0:465/inet/mynetworks is set to '0.0.0.0/0' on our service: it carries who is trusted or exempt from the limits (main.cf's mynetworks, never widened for our services)",
      "postfix [::]:587/inet/letin is 'permit_mynetworks' on our service: it carries no mail and no relaying without AUTH (restriction keywords that let clients through)",
    ]);
  });

  it("passes our own settings", () => {
    expect(overrides(["0.0.0.0:465/inet/smtpd_client_restrictions = permit_sasl_authenticated,reject", "[::]:587/inet/syslog_name = postfix/submission"])).toBe("");
  });
});
