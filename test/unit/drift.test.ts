/** The drift read's output and the tokens it gives the steps: pure parts of components/drift.ts. */
import { describe, expect, it } from "vitest";
import { nextToken, parseDrift } from "../../components/drift/read";

const output = [
  "token packages 0",
  "token certificate 2",
  "token dovecot 1",
  "token dkim 3",
  "token ratelimit 0",
  "token postfix 4",
  "token firewall 0",
  "token bans 0",
  "token check 5",
  "drift postfix postfix:587/inet/smtpd_tls_security_level",
  "drift firewall firewall:nft:inet/operator/input",
  "notice the operator's master.cf entry 'submission' binds port 587",
  "",
].join("\n");

describe("drift read", () => {
  it("reads each step's token and drifted items", () => {
    const r = parseDrift(output);
    expect(r.tokens).toEqual({ packages: 0, certificate: 2, dovecot: 1, dkim: 3, ratelimit: 0, postfix: 4, firewall: 0, bans: 0, check: 5 });
    expect(r.drifted.postfix).toEqual(["postfix:587/inet/smtpd_tls_security_level"]);
    expect(r.drifted.firewall).toEqual(["firewall:nft:inet/operator/input"]);
    expect(r.drifted.dovecot).toEqual([]);
    expect(r.notices).toEqual(["the operator's master.cf entry 'submission' binds port 587"]);
  });

  it("moves the token of a drifted step and of the check, and only those", () => {
    const r = parseDrift(output);
    expect(nextToken(r, "postfix")).toBe(5);
    expect(nextToken(r, "firewall")).toBe(1);
    expect(nextToken(r, "check")).toBe(6);
    expect(nextToken(r, "certificate")).toBe(2);
    expect(nextToken(r, "dovecot")).toBe(1);
  });

  it("moves nothing on an undrifted host, so a preview shows no change", () => {
    const r = parseDrift(output.split("\n").filter((l) => !l.startsWith("drift")).join("\n"));
    for (const step of ["packages", "certificate", "dovecot", "postfix", "firewall", "check"] as const) expect(nextToken(r, step)).toBe(r.tokens[step]);
  });

  it("ignores lines that are not its own, and tokens that are not numbers", () => {
    const r = parseDrift("noise\ntoken postfix x\ntoken nosuchstep 3\ndrift nosuchstep item\n");
    expect(r.tokens.postfix).toBe(0);
    expect(Object.values(r.drifted).flat()).toEqual([]);
  });
});
