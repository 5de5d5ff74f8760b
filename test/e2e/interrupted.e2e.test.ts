/**
 * Interrupted `pulumi up`s, as only a real engine shows them: the CLI killed with SIGKILL mid-step, the SSH
 * connection cut at several points of the Postfix and Dovecot steps, and the step itself killed on the host. Each
 * time the host holds either the previous configuration or the new one, never a mix, mail keeps flowing, and the
 * next `up` converges.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineStack } from "../harness/engine";
import { cutConnection, hold, killStep, reached, release, stepsDone } from "../harness/interrupt";
import { startLoad, type Load } from "../harness/load";
import { failureOutput } from "../harness/output";
import { makePki } from "../harness/pki";
import { hostRoot, openSession } from "../harness/probes";
import { downHost, upHost, type SandboxHost } from "../harness/sandbox";
import { ALICE, BOB, HOSTNAME, reconfigure, stackFor, tlsFor, type HostSpec } from "../harness/scenario";
import { paths } from "../../components/host/contract";

describe("interrupted pulumi up on Debian 12", () => {
  const pki = makePki();
  let sb: SandboxHost;
  let stack: EngineStack;
  let load: Load;
  const base = { authPerMinute: 1000, connectionsPerMinute: 10000, concurrentConnections: 100 };
  let spec: HostSpec;
  /** Flips a setting each time, so that each case has a change for the step it interrupts. */
  let flip = 0;
  const nextChange = (): { spec: HostSpec; postfixValue: string; dovecotValue: string } => {
    flip += 1;
    // Both differ from the defaults (3, 2) and from the previous case's values.
    const errors = 4 + (flip % 4);
    const delay = 3 + (flip % 4);
    return {
      spec: { ...spec, extra: { limits: { ...base, errorsBeforeDelay: errors, authFailureDelaySeconds: delay } } },
      postfixValue: String(errors),
      dovecotValue: `${delay} secs`, // as doveconf -h prints it
    };
  };
  const served = async () => {
    const s = await openSession(sb.address, 465, tlsFor(pki));
    const { sha256 } = s.tlsInfo();
    await s.quit();
    return sha256;
  };
  const live = async () => ({
    postfix: (await hostRoot(sb, "postconf -Ph 0.0.0.0:587/inet/smtpd_soft_error_limit")).trim(),
    dovecot: (await hostRoot(sb, `doveconf -c ${paths.dovecotConf} -h auth_failure_delay`)).trim(),
    // The map directory master.cf names must exist: a switched master.cf never points at missing tables.
    maps: (await hostRoot(sb, "d=$(postconf -Ph 0.0.0.0:587/inet/smtpd_sender_login_maps); test -f \"${d#texthash:}\" && echo present")).trim(),
  });

  /** Waits for the step to reach the checkpoint; an `up` that ends first is a failed precondition, said at once. */
  async function reachedBefore(run: Promise<{ output: string }>, checkpoint: string): Promise<void> {
    const ended = run.then((r) => {
      throw new Error(`pulumi up ended before any step reached ${checkpoint}:\n${r.output.slice(-1500)}`);
    });
    await Promise.race([reached(sb, checkpoint), ended]);
  }

  async function converges(): Promise<void> {
    await stepsDone(sb);
    await stack.up();
    expect((await stack.preview({ expectNoChanges: true })).ok).toBe(true);
  }

  beforeAll(async () => {
    sb = await upHost("e2e-interrupt", { release: "bookworm" });
    spec = { certificate: { mode: "provided", ...pki.issue(HOSTNAME) }, extra: { limits: base } };
    stack = await stackFor("interrupt", sb, spec);
    await stack.up();
    load = startLoad([{ host: sb.address, port: 465, tls: tlsFor(pki) }, { host: sb.address, port: 587, tls: tlsFor(pki) }], ALICE, `root@${HOSTNAME}`);
  }, 600_000);

  afterAll(async () => {
    await load?.stop();
    await stack?.remove();
    if (sb) await downHost(sb.name);
  }, 300_000);

  it("the CLI killed with SIGKILL mid-step: pulumi cancel, then up, converges, and mail flows during and after", async () => {
    spec = { ...spec, users: [ALICE, BOB] };
    await reconfigure(stack, sb, spec);
    load.phase();
    await hold(sb, "postfix-rehearsed");
    const killed = await stack.cli(["up", "--yes", "--skip-preview"], { killAfter: () => reached(sb, "postfix-rehearsed") });
    expect(killed.signal).toBe("SIGKILL");
    await release(sb, "postfix-rehearsed");
    await stepsDone(sb);
    const cancel = await stack.cli(["cancel", "--yes"]);
    expect(cancel.code, cancel.output).toBe(0);
    await converges();
    expect(load.phase().failures).toEqual([]);
    const s = await openSession(sb.address, 587);
    await s.quit();
  }, 600_000);

  it.each(["dovecot-validated", "dovecot-written", "postfix-candidate", "postfix-rehearsed", "postfix-switched"])(
    "the SSH connection cut at %s: the step finishes on the host, up says so in a few lines, the next up converges",
    async (checkpoint) => {
      const next = nextChange();
      spec = next.spec;
      await reconfigure(stack, sb, spec);
      load.phase();
      await hold(sb, checkpoint);
      const run = stack.upFailing();
      await reachedBefore(run, checkpoint);
      await cutConnection(sb);
      await release(sb, checkpoint);
      const r = await run;
      expect(r.ok).toBe(false);
      const out = failureOutput(r.output);
      expect(out.diagnostics.join("\n")).toContain("remote command exited without exit status or exit signal");
      expect(out.diagnostics.length).toBeLessThanOrEqual(30);
      expect(r.output).not.toMatch(/set -euo pipefail|MAIL_SUBMISSION_BUNDLE/);
      await stepsDone(sb);
      // The step ran to its end without its connection: the new configuration, whole.
      const now = await live();
      if (checkpoint.startsWith("postfix")) expect(now.postfix).toBe(next.postfixValue);
      else expect(now.dovecot).toBe(next.dovecotValue);
      expect(now.maps).toBe("present");
      await converges();
      expect(load.phase().failures).toEqual([]);
    },
    300_000,
  );

  it.each(["certificate-written", "dovecot-written", "postfix-switched"])(
    "the step killed on the host at %s: the previous or the new configuration, never a mix, and the next up finishes it",
    async (checkpoint) => {
      const next = nextChange();
      const before = await live();
      const fingerprint = await served();
      spec = checkpoint === "certificate-written" ? { ...next.spec, certificate: { mode: "provided", ...pki.issue(HOSTNAME) } } : next.spec;
      await reconfigure(stack, sb, spec);
      load.phase();
      await hold(sb, checkpoint);
      const run = stack.upFailing();
      await reachedBefore(run, checkpoint);
      await killStep(sb);
      await release(sb, checkpoint);
      expect((await run).ok).toBe(false);
      await stepsDone(sb);
      const now = await live();
      expect(now.maps).toBe("present");
      if (checkpoint === "certificate-written") {
        // The link still names the previous pair: the daemons serve the previous certificate, key and chain together.
        expect(await served()).toBe(fingerprint);
        expect(await hostRoot(sb, "openssl x509 -noout -pubkey -in /etc/mail-submission/tls/fullchain.pem | sha256sum")).toBe(
          await hostRoot(sb, "openssl pkey -pubout -in /etc/mail-submission/tls/privkey.pem | sha256sum"),
        );
      } else {
        expect([before.postfix, next.postfixValue]).toContain(now.postfix);
        expect([before.dovecot, next.dovecotValue]).toContain(now.dovecot);
      }
      await converges();
      const after = await live();
      expect(after.postfix).toBe(next.postfixValue);
      expect(after.dovecot).toBe(next.dovecotValue);
      if (checkpoint === "certificate-written") expect(await served()).not.toBe(fingerprint);
      // The reload that the killed step owed has happened: nothing is left pending.
      expect(await hostRoot(sb, "ls /var/lib/mail-submission/*.reload-pending /var/lib/mail-submission/postfix/reload-pending 2>/dev/null || true")).toBe("");
      expect(load.phase().failures).toEqual([]);
    },
    300_000,
  );
});
