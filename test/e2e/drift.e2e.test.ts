/**
 * Drift on the host, as `ansible-playbook --check --diff` finds it: with driftCheck on, `pulumi preview` names the
 * step and the item that was changed by hand, `preview --expect-no-changes` fails, and one `pulumi up` re-runs
 * exactly those steps (and the check), after which nothing is left to do. With it off, a no-op up logs in nowhere.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineStack } from "../harness/engine";
import { makePki } from "../harness/pki";
import { hostRoot, openSecured, openSession, tcpState } from "../harness/probes";
import { downHost, upHost, type SandboxHost } from "../harness/sandbox";
import { ALICE, HOSTNAME, reconfigure, sshLogins, stackFor, tlsFor, type HostSpec } from "../harness/scenario";
import { authMechanisms } from "../../verify/smtp";
import { DOVECOT_UNIT_NAME } from "../../components/host/contract";

interface Case {
  what: string;
  edit: string;
  step: string;
  item: RegExp;
}

const CASES: Case[] = [
  { what: "587 set back to may with postconf", edit: "postconf -P 0.0.0.0:587/inet/smtpd_tls_security_level=may && postfix reload", step: "postfix", item: /postfix:0\.0\.0\.0:587\/inet\/smtpd_tls_security_level/ },
  { what: "the firewall accept for 465 deleted", edit: "nft -a list chain inet operator input | sed -n 's/.*dport 465 .*mail-submission.* handle \\([0-9]*\\)$/\\1/p' | xargs -r -n1 nft delete rule inet operator input handle", step: "firewall", item: /firewall:nft:inet\/operator\/input/ },
  { what: "a line added to the passwd-file", edit: "echo 'mallory@sandbox.test:{PLAIN}guessme' >>/etc/mail-submission/dovecot/users", step: "dovecot", item: /dovecot:passwd-file/ },
  { what: "the certificate file replaced with another valid certificate", edit: "REPLACE_CERT", step: "certificate", item: /certificate:chain/ },
  { what: "dovecot stopped", edit: `systemctl stop ${DOVECOT_UNIT_NAME}`, step: "dovecot", item: /dovecot:service/ },
];

describe("drift on a converged host, through pulumi preview and up", () => {
  const pki = makePki();
  const other = makePki("someone else's CA").issue(HOSTNAME);
  let sb: SandboxHost;
  let stack: EngineStack;
  let spec: HostSpec;
  /** Seconds of a no-op up without the read, for the cost of the read. */
  let noopSeconds = 0;

  async function edit(c: Case): Promise<void> {
    if (c.edit === "REPLACE_CERT") {
      await hostRoot(sb, "cat >/etc/mail-submission/tls/fullchain.pem", other.chainPem);
      await hostRoot(sb, "postfix reload");
    } else {
      await hostRoot(sb, c.edit);
    }
  }

  async function clientChecksPass(): Promise<void> {
    const s = await openSecured({ host: sb.address, port: 587, tls: tlsFor(pki) });
    expect(s.tlsInfo().authorized).toBe(true);
    expect((await s.authPlain(ALICE.name, ALICE.password)).code).toBe(235);
    await s.quit();
    const plain = await openSession(sb.address, 587);
    expect(authMechanisms(await plain.ehlo())).toEqual([]);
    await plain.quit();
    expect(await tcpState(sb.address, 465)).toBe("open");
  }

  beforeAll(async () => {
    sb = await upHost("e2e-drift", { release: "bookworm", firewall: "nftables-drop" });
    spec = { certificate: { mode: "provided", ...pki.issue(HOSTNAME) } };
    stack = await stackFor("drift", sb, spec);
    await stack.up();
  }, 600_000);

  afterAll(async () => {
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("with driftCheck off, a no-op up logs in nowhere, and a hand edit goes unseen", async () => {
    await edit(CASES[0] as Case);
    const start = Date.now();
    const run = await stack.up();
    const end = Date.now();
    noopSeconds = (end - start) / 1000;
    expect(run.changes).toEqual({ same: expect.any(Number) });
    expect(await sshLogins(sb, start, end)).toBe(0);
    expect((await stack.preview({ expectNoChanges: true })).ok).toBe(true);
  }, 300_000);

  it("turned on in the stack config, the read logs in once per host, and the first read repairs what it finds", async () => {
    spec = { ...spec, extra: { driftCheck: true } };
    await reconfigure(stack, sb, spec);
    const start = Date.now();
    await stack.up();
    const end = Date.now();
    // The read, then the steps that had to run again: the read itself is one login.
    expect(await sshLogins(sb, start, end)).toBeGreaterThanOrEqual(1);
    await clientChecksPass();
    const quiet = Date.now();
    expect((await stack.up()).changes).toEqual({ same: expect.any(Number) });
    const done = Date.now();
    expect(await sshLogins(sb, quiet, done)).toBe(1);
    console.log(`no-op up: ${noopSeconds.toFixed(1)} s without the drift read, ${((done - quiet) / 1000).toFixed(1)} s with it (one host)`);
  }, 300_000);

  it.each(CASES)("$what: preview names $step and the item, expect-no-changes fails, one up repairs it", async (c) => {
    await edit(c);
    const preview = await stack.preview();
    expect(preview.output).toMatch(new RegExp(`drift on ${sb.name}: ${c.step} step: .*${c.item.source}`));
    expect(preview.output).toMatch(new RegExp(`${sb.name}-${c.step} update \\[diff: ~create,update\\]`));
    expect((await stack.preview({ expectNoChanges: true })).ok).toBe(false);
    const run = await stack.up();
    expect(run.output).toMatch(new RegExp(`${sb.name}-${c.step} updated`));
    expect(run.output).toMatch(new RegExp(`${sb.name}-check updated`));
    expect(run.changes.update).toBe(2);
    expect((await stack.preview({ expectNoChanges: true })).ok).toBe(true);
    await clientChecksPass();
  }, 300_000);

  it("all five at once: one preview names them all, one up repairs them all", async () => {
    for (const c of CASES) await edit(c);
    const preview = await stack.preview();
    for (const c of CASES) expect(preview.output).toMatch(c.item);
    expect((await stack.preview({ expectNoChanges: true })).ok).toBe(false);
    await stack.up();
    expect((await stack.preview({ expectNoChanges: true })).ok).toBe(true);
    await clientChecksPass();
    expect(await hostRoot(sb, "grep -c mallory /etc/mail-submission/dovecot/users || true")).toBe("0\n");
  }, 300_000);
});
