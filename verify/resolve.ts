/** Turns a parsed plan into targets and options: reads --ca-file, the password (env or file) and the stack. */
import { readFile } from "node:fs/promises";
import { UsageError, type PasswordSource, type Plan } from "./args";
import { readStackHosts } from "./stack";
import { MAILBOX_PORTS, SERVICE_PORTS, type Options, type Target } from "./types";

async function read(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw new UsageError(`${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The password from an environment variable or the first line of a file; never empty. */
export async function readPassword(source: PasswordSource, env: NodeJS.ProcessEnv): Promise<string> {
  // A file written with `echo` ends in a newline that is not part of the password.
  const password = "env" in source ? env[source.env] : (await read(source.file, "--password-file")).replace(/\r?\n$/, "");
  const where = "env" in source ? `environment variable ${source.env}` : `file ${source.file}`;
  if (password === undefined || password === "") throw new UsageError(`the password ${where} is empty or unset`);
  if (/[\r\n]/.test(password)) throw new UsageError(`the password ${where} holds more than one line`);
  return password;
}

export async function resolvePlan(plan: Plan, env: NodeJS.ProcessEnv): Promise<{ targets: Target[]; options: Options }> {
  const caPem = plan.caFile !== undefined ? await read(plan.caFile, "--ca-file") : undefined;
  if (caPem !== undefined && !caPem.includes("BEGIN CERTIFICATE")) throw new UsageError(`--ca-file ${plan.caFile}: no PEM certificate in it`);
  const credentials = plan.user !== undefined && plan.passwordSource ? { user: plan.user, password: await readPassword(plan.passwordSource, env) } : undefined;
  const options: Options = {
    timeoutMs: plan.timeoutMs, warnDays: plan.warnDays, failDays: plan.failDays, relayTo: plan.relayTo,
    srvDomains: plan.srvDomains, dnsServers: plan.dnsServers, port25: plan.port25,
    ...(caPem !== undefined ? { caPem } : {}), ...(credentials ? { credentials } : {}), ...(plan.send ? { send: plan.send } : {}),
  };
  const mailbox = Object.fromEntries(plan.mailbox.map((s) => [s, MAILBOX_PORTS[s]]));
  const targets: Target[] = plan.hosts.map((h) => ({ ...h, services: { ...SERVICE_PORTS }, ...(plan.mailbox.length > 0 ? { mailbox } : {}) }));
  if (plan.stack !== undefined) targets.push(...(await readStackHosts(plan.stack, plan.timeoutMs)));
  return { targets: targets.map((t) => (plan.resolve[t.hostname] !== undefined ? { ...t, address: plan.resolve[t.hostname] ?? t.address } : t)), options };
}
