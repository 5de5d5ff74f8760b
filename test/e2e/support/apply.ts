/**
 * Applies a host's steps over plain SSH, in the order and with the exact command lines and stdin bundles the
 * MailSubmission component gives its remote.Commands. This stands in for `pulumi up` only because no Pulumi engine
 * can be built on this machine (see README, "Testing without an engine"); it is not a second implementation: every
 * byte sent to the host comes from components/steps.ts.
 */
import { certificateFacts } from "../../../components/certificate";
import { parseHost } from "../../../components/config";
import { dovecotHash } from "../../../components/passwordHash";
import type { HostConfig } from "../../../components/schema";
import {
  STEPS,
  certificateBundle,
  checkBundle,
  dovecotBundle,
  firewallBundle,
  packagesBundle,
  postfixStepBundle,
  stepCommand,
  type StepName,
} from "../../../components/steps";
import { sshExec, type ExecResult, type SshTarget } from "./sandbox";

export interface StepRun extends ExecResult {
  step: StepName;
  action: "apply" | "remove";
}

/** Everything the steps print, kept so that tests can prove no secret ever shows up in it. */
export const transcript: string[] = [];

export class StepFailed extends Error {
  constructor(readonly run: StepRun) {
    super(`step ${run.step} ${run.action} failed (exit ${run.code}):\n${run.stderr}`);
  }
}

/** The stdin of each step, as the component computes it (here from plain values instead of Outputs). */
export function bundles(host: HostConfig): Record<StepName, string> {
  if (host.certificate.mode !== "provided") throw new Error("the sandbox suite uses provided certificates");
  const chain = String(host.certificate.chainPem);
  const hashes = host.users.map((u) => ({ name: u.name, hash: u.passwordHash ?? dovecotHash(String(u.password), u.name) }));
  return {
    packages: packagesBundle(host),
    certificate: certificateBundle(chain, String(host.certificate.keyPem)),
    dovecot: dovecotBundle(host, hashes),
    postfix: postfixStepBundle(host),
    firewall: firewallBundle(host),
    check: checkBundle(host, certificateFacts(chain).sha256),
  };
}

async function runStep(sandbox: SshTarget, host: HostConfig, step: StepName, action: "apply" | "remove", stdin = ""): Promise<StepRun> {
  const sudo = host.connection.user !== "root";
  const result = await sshExec(sandbox, stepCommand(step, action, sudo), { input: stdin, timeoutMs: 600_000 });
  const run = { ...result, step, action };
  transcript.push(`== ${step} ${action} (exit ${run.code})\n${run.stdout}${run.stderr}`);
  if (run.code !== 0) throw new StepFailed(run);
  return run;
}

/** `pulumi up` of one host: every step, dependencies first. `only` limits it to the steps whose input changed. */
export async function applyHost(sandbox: SshTarget, input: unknown, only?: readonly StepName[]): Promise<Record<StepName, StepRun>> {
  const host = parseHost(input);
  const stdin = bundles(host);
  const runs = {} as Record<StepName, StepRun>;
  for (const step of STEPS) {
    if (only && !only.includes(step.name)) continue;
    runs[step.name] = await runStep(sandbox, host, step.name, "apply", stdin[step.name]);
  }
  return runs;
}

/** `pulumi destroy` of one host: the removable steps, dependents first. */
export async function destroyHost(sandbox: SshTarget, input: unknown): Promise<StepRun[]> {
  const host = parseHost(input);
  const runs: StepRun[] = [];
  for (const step of [...STEPS].reverse()) {
    if (step.removable) runs.push(await runStep(sandbox, host, step.name, "remove"));
  }
  return runs;
}

/** Which steps a config change touches: those whose command line or stdin differ (what pulumi-command diffs). */
export function changedSteps(before: unknown, after: unknown): StepName[] {
  const a = parseHost(before);
  const b = parseHost(after);
  const sa = bundles(a);
  const sb = bundles(b);
  const sudoA = a.connection.user !== "root";
  const sudoB = b.connection.user !== "root";
  return STEPS.filter((s) => sa[s.name] !== sb[s.name] || stepCommand(s.name, "apply", sudoA) !== stepCommand(s.name, "apply", sudoB)).map((s) => s.name);
}
