import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePlan, parseTarget, UsageError } from "../../verify/args";
import { main } from "../../verify/cli";
import { readPassword, resolvePlan } from "../../verify/resolve";

const usage = (argv: string[]) => {
  try {
    parsePlan(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`no usage error for ${argv.join(" ")}`);
};

describe("verify: arguments", () => {
  it("has defaults a pipeline can rely on", () => {
    expect(parsePlan(["mail.example.com"])).toEqual({
      help: false, json: false, hosts: [{ address: "mail.example.com", hostname: "mail.example.com", label: "mail.example.com" }],
      relayTo: "relay-test@example.org", timeoutMs: 10_000, warnDays: 21, failDays: 7, srvDomains: [], dnsServers: [], port25: true, mailbox: [], resolve: {},
    });
  });

  it("reads every option", () => {
    const plan = parsePlan([
      "--stack", "staging", "--ca-file", "ca.pem", "--warn-days", "30", "--fail-days", "0", "--timeout", "2.5", "--user", "qa@example.com",
      "--password-env", "QA_PASSWORD", "--send", "--from", "qa@example.com", "--to", "sink@example.com", "--relay-to", "x@example.net",
      "--srv", "example.com", "--srv", "example.org", "--dns-server", "10.0.0.53:5353", "--dns-server", "[::1]:53", "--no-port25", "--json", "--imaps", "--pop3s",
    ]);
    expect(plan).toMatchObject({
      stack: "staging", caFile: "ca.pem", warnDays: 30, failDays: 0, timeoutMs: 2500, user: "qa@example.com", passwordSource: { env: "QA_PASSWORD" },
      send: { from: "qa@example.com", to: "sink@example.com" }, relayTo: "x@example.net", srvDomains: ["example.com", "example.org"],
      dnsServers: ["10.0.0.53:5353", "[::1]:53"], port25: false, json: true, hosts: [], mailbox: ["imaps", "pop3s"],
    });
  });

  it("parses host[:hostname] targets, IPv6 in brackets, and needs a name for an IP address", () => {
    expect(parseTarget("10.231.0.5:Mail.Sandbox.test")).toEqual({ address: "10.231.0.5", hostname: "mail.sandbox.test", label: "10.231.0.5:Mail.Sandbox.test" });
    expect(parseTarget("[2001:db8::1]:mail.example.com")).toMatchObject({ address: "2001:db8::1", hostname: "mail.example.com" });
    expect(parseTarget("2001:db8::1", "mail.example.com")).toMatchObject({ address: "2001:db8::1", hostname: "mail.example.com" });
    expect(parseTarget("10.0.0.1", "mail.example.com")).toMatchObject({ address: "10.0.0.1", hostname: "mail.example.com" });
    expect(parseTarget("mx-internal:mail.example.com", "ignored.example.com")).toMatchObject({ address: "mx-internal", hostname: "mail.example.com" });
    expect(usage(["10.0.0.1"])).toMatch(/is an IP address: name the host to verify/);
    expect(usage(["10.0.0.1:"])).toMatch(/empty host or hostname/);
    expect(usage(["10.0.0.1:10.0.0.2"])).toMatch(/is not a DNS name/);
  });

  it.each([
    [["--password", "hunter2", "mail.example.com"], "--password"],
    [["--password=hunter2", "mail.example.com"], "--password"],
    [["--pass", "hunter2", "mail.example.com"], "--pass"],
    [["-p", "hunter2", "mail.example.com"], "-p"],
  ])("never takes a password from argv: %j", (argv, flag) => {
    const message = usage(argv);
    expect(message).toContain(`${flag} is not accepted`);
    expect(message).toContain("--password-env");
    expect(message).not.toContain("hunter2");
  });

  it.each([
    [[], /no targets/],
    [["h.example.com", "--user", "u"], /--user needs --password-env/],
    [["h.example.com", "--password-env", "P"], /need --user/],
    [["h.example.com", "--user", "u", "--password-env", "P", "--password-file", "f"], /not both/],
    [["h.example.com", "--send"], /--send needs --user, --from and --to/],
    [["h.example.com", "--from", "a@b.c"], /only used with --send/],
    [["h.example.com", "--user", "u", "--password-env", "P", "--send", "--from", "nope", "--to", "a@b.c"], /--from "nope" is not an address/],
    [["h.example.com", "--fail-days", "30"], /must not exceed --warn-days/],
    [["h.example.com", "--timeout", "0"], /--timeout must be a positive number/],
    [["h.example.com", "--warn-days", "soon"], /--warn-days must be a non-negative number/],
    [["h.example.com", "--dns-server", "resolver.example.com"], /expected ip or ip:port/],
    [["h.example.com", "--dns-server", "10.0.0.1:99999"], /expected ip or ip:port/],
    [["h.example.com", "--frobnicate"], /Unknown option '--frobnicate'/],
  ])("refuses %j", (argv, message) => {
    expect(usage(argv)).toMatch(message);
  });

  it("exits 2 with the message on stderr for a usage error, 0 with the usage text for --help", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s), env: {} };
    expect(await main(["--password", "x", "h.example.com"], io)).toBe(2);
    expect(err.join("")).toMatch(/^mail-submission-verify: --password is not accepted/);
    expect(await main(["--help"], io)).toBe(0);
    expect(out.join("")).toMatch(/^usage: mail-submission-verify/);
  });
});

describe("verify: the password, from an environment variable or a file", () => {
  const dir = mkdtempSync(join(tmpdir(), "verify-args-"));

  it("reads it from the named variable, or the file without its final newline", async () => {
    expect(await readPassword({ env: "QA_PW" }, { QA_PW: "s3cret pass" })).toBe("s3cret pass");
    writeFileSync(join(dir, "pw"), "from-file\n");
    expect(await readPassword({ file: join(dir, "pw") }, {})).toBe("from-file");
  });

  it("refuses an unset or empty variable, a missing file, and a file of several lines", async () => {
    await expect(readPassword({ env: "QA_PW" }, {})).rejects.toThrow(/environment variable QA_PW is empty or unset/);
    await expect(readPassword({ env: "QA_PW" }, { QA_PW: "" })).rejects.toThrow(UsageError);
    await expect(readPassword({ file: join(dir, "missing") }, {})).rejects.toThrow(/--password-file .*missing: ENOENT/);
    writeFileSync(join(dir, "two"), "a\nb\n");
    await expect(readPassword({ file: join(dir, "two") }, {})).rejects.toThrow(/more than one line/);
  });

  it("puts targets and credentials together, each command-line host checked on 465 and 587", async () => {
    writeFileSync(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const plan = parsePlan(["10.0.0.1:mail.example.com", "--ca-file", join(dir, "ca.pem"), "--user", "qa", "--password-env", "QA_PW"]);
    const { targets, options } = await resolvePlan(plan, { QA_PW: "pw" });
    expect(targets).toEqual([{ address: "10.0.0.1", hostname: "mail.example.com", label: "10.0.0.1:mail.example.com", services: { submissions: 465, submission: 587 } }]);
    expect(options.credentials).toEqual({ user: "qa", password: "pw" });
    expect(options.caPem).toContain("BEGIN CERTIFICATE");
    writeFileSync(join(dir, "empty.pem"), "");
    await expect(resolvePlan(parsePlan(["h.example.com", "--ca-file", join(dir, "empty.pem")]), {})).rejects.toThrow(/no PEM certificate/);
  });

  it("--resolve connects to the given address for a host of that name, as curl's --resolve does", async () => {
    const plan = parsePlan(["mail.example.com", "other.example.com", "--resolve", "MAIL.example.com:192.0.2.7", "--resolve", "x.example.com:[2001:db8::1]"]);
    expect(plan.resolve).toEqual({ "mail.example.com": "192.0.2.7", "x.example.com": "2001:db8::1" });
    const { targets } = await resolvePlan(plan, {});
    expect(targets.map((t) => [t.hostname, t.address])).toEqual([["mail.example.com", "192.0.2.7"], ["other.example.com", "other.example.com"]]);
    expect(() => parsePlan(["h.example.com", "--resolve", "h.example.com"])).toThrow(/--resolve "h.example.com": expected name:ip/);
    expect(() => parsePlan(["h.example.com", "--resolve", "h.example.com:nope"])).toThrow(UsageError);
  });
});
