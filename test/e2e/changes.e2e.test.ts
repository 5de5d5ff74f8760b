/**
 * Changes without outages, failures users can read. A steady client load runs on 465 and 587 (new sessions with
 * TLS and AUTH, every fifth with a message) while `pulumi up` makes one change after another: a successful change,
 * a change Postfix rejects, a valid change right after it, a certificate rotation, a new user. Not one session may
 * fail, and a rejected change must say why in one screen: our reason first, no script text.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineStack } from "../harness/engine";
import { startLoad, type Load, type LoadReport } from "../harness/load";
import { makePki } from "../harness/pki";
import { failureOutput } from "../harness/output";
import { E2E_LOGS } from "../harness/probes";
import { downHost, upHost, type SandboxHost } from "../harness/sandbox";
import { ALICE, BOB, HOSTNAME, reconfigure, stackFor, tlsFor, type HostSpec } from "../harness/scenario";

describe("changes under a steady client load, through pulumi up", () => {
  const pki = makePki();
  let sb: SandboxHost;
  let stack: EngineStack;
  let load: Load;
  // The load comes from one address; the brute-force limits must not be what it meets.
  const limits = { authPerMinute: 1000, connectionsPerMinute: 10000, concurrentConnections: 100 };
  let spec: HostSpec;
  const table: string[] = ["| change | sessions | messages | failed | pulumi up | output lines | diagnostics lines |", "|---|---|---|---|---|---|---|"];

  function record(change: string, report: LoadReport, run: { ok: boolean; output: string }): void {
    const out = failureOutput(run.output);
    table.push(`| ${change} | ${report.sessions} | ${report.messages} | ${report.failures.length} | ${run.ok ? "ok" : "failed"} | ${out.lines} | ${out.diagnostics.length} |`);
    console.log(`${change}: ${report.sessions} sessions, ${report.failures.length} failed${report.failures.length ? `: ${JSON.stringify(report.failures.slice(0, 3))}` : ""}`);
  }

  async function change(what: string, next: HostSpec): Promise<{ ok: boolean; output: string; report: LoadReport }> {
    spec = next;
    await reconfigure(stack, sb, spec);
    load.phase();
    const run = await stack.upFailing();
    // A moment of load after the change, too: a broken reload shows in the sessions that follow it.
    await new Promise((r) => setTimeout(r, 3000));
    const report = load.phase();
    record(what, report, run);
    return { ...run, report };
  }

  beforeAll(async () => {
    sb = await upHost("e2e-changes", { release: "bookworm" });
    spec = { certificate: { mode: "provided", ...pki.issue(HOSTNAME) }, extra: { limits } };
    stack = await stackFor("changes", sb, spec);
    await stack.up();
    const at = (port: 465 | 587) => ({ host: sb.address, port, tls: tlsFor(pki) });
    load = startLoad([at(465), at(587)], ALICE, `root@${HOSTNAME}`);
    await new Promise((r) => setTimeout(r, 3000));
    expect(load.phase().failures).toEqual([]);
  }, 600_000);

  afterAll(async () => {
    const total = await load?.stop();
    mkdirSync(E2E_LOGS, { recursive: true });
    writeFileSync(join(E2E_LOGS, "changes-under-load.md"), `${table.join("\n")}\n\ntotal: ${JSON.stringify({ sessions: total?.sessions, failed: total?.failures.length })}\n`);
    console.log(table.join("\n"));
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("a successful change (TLS 1.3 only) fails no session", async () => {
    const r = await change("successful change (tls.profile modern)", { ...spec, extra: { limits, tls: { profile: "modern" } } });
    expect(r.ok).toBe(true);
    expect(r.report.sessions).toBeGreaterThan(10);
    expect(r.report.failures).toEqual([]);
  }, 300_000);

  it("a change that smtpd rejects never reaches the live service, and says why in one screen", async () => {
    const r = await change("rejected change (smtpd_delay_reject: maybe)", { ...spec, extra: { limits, tls: { profile: "modern" }, postfixExtraSettings: { smtpd_delay_reject: "maybe" } } });
    expect(r.ok).toBe(false);
    expect(r.report.failures).toEqual([]);
    const out = failureOutput(r.output);
    expect(out.reason).toMatch(new RegExp(`^mail-submission postfix on ${sb.name}: the new settings failed their rehearsal on loopback .*; the live configuration was not changed; fix what Postfix names below and run pulumi up again$`));
    expect(out.diagnostics.join("\n")).toContain("fatal: bad boolean configuration: smtpd_delay_reject = maybe");
    expect(out.diagnostics.length).toBeLessThanOrEqual(30);
    expect(r.output).not.toMatch(/set -euo pipefail|shopt|#@ end|MAIL_SUBMISSION_BUNDLE/);
  }, 300_000);

  it("a valid change made right after the rejected one succeeds (nothing was throttled)", async () => {
    const r = await change("valid change right after (tls.profile intermediate)", { ...spec, extra: { limits, tls: { profile: "intermediate" } } });
    expect(r.ok).toBe(true);
    expect(r.report.failures).toEqual([]);
  }, 300_000);

  it("a certificate rotation fails no session", async () => {
    const r = await change("certificate rotation", { ...spec, certificate: { mode: "provided", ...pki.issue(HOSTNAME) } });
    expect(r.ok).toBe(true);
    expect(r.report.failures).toEqual([]);
  }, 300_000);

  it("adding a user fails no session", async () => {
    const r = await change("adding a user", { ...spec, users: [ALICE, BOB] });
    expect(r.ok).toBe(true);
    expect(r.report.failures).toEqual([]);
  }, 300_000);
});
