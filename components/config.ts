/**
 * parse → rules → ConfigError. Every message starts with the dotted path of the key at fault, and all problems
 * are reported at once, so an operator fixes a stack file in one go.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { address, hostSchema, sshPublicKey, stackSchema, type HostConfig, type StackConfig } from "./schema";

/** A mistake in the user's configuration, as opposed to a bug of ours. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid mail-submission configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

function formatPath(prefix: string, path: PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    out += typeof part === "number" ? `[${part}]` : out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(root)" : out;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v = input;
  for (const part of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[part];
  }
  return v;
}

function formatIssue(prefix: string, issue: z.core.$ZodIssue, input: unknown): string {
  const path = formatPath(prefix, issue.path);
  const missing = valueAt(input, issue.path) === undefined;
  if ((issue.code === "invalid_type" || issue.code === "invalid_union") && missing) return `${path}: required`;
  if (issue.code === "unrecognized_keys") return `${path}: unknown key(s) ${issue.keys.join(", ")}`;
  return `${path}: ${issue.message}`;
}

/**
 * Normalize: files named in the config are read now, so that a missing file is a config error and the rest of the
 * code only ever sees values (privateKey, hostKey, chainPem, keyPem). What is read is wrapped as a secret later.
 */
function resolveFiles(host: HostConfig, at: string): string[] {
  const c = host.connection;
  const problems: string[] = [];
  const read = (key: string, path: string): string | undefined => {
    try {
      return readFileSync(path, "utf8");
    } catch (e) {
      problems.push(`${at}.${key}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      return undefined;
    }
  };
  const cert = host.certificate;
  if (cert.mode === "provided") {
    for (const [value, file] of [["chainPem", "chainFile"], ["keyPem", "keyFile"]] as const) {
      if ((cert[value] === undefined) === (cert[file] === undefined)) {
        problems.push(`${at}.certificate.${value}: exactly one of ${value} or ${file} is required`);
      } else if (cert[file] !== undefined) {
        cert[value] = read(`certificate.${file}`, cert[file]);
        delete cert[file];
      }
    }
  }
  if ((c.privateKey === undefined) === (c.privateKeyFile === undefined)) {
    problems.push(`${at}.connection.privateKey: exactly one of privateKey or privateKeyFile is required`);
  } else if (c.privateKeyFile !== undefined) {
    c.privateKey = read("connection.privateKeyFile", c.privateKeyFile);
    delete c.privateKeyFile;
  }
  if (c.hostKey !== undefined && c.hostKeyFile !== undefined) {
    problems.push(`${at}.connection.hostKeyFile: give hostKey or hostKeyFile, not both`);
  } else if (c.hostKeyFile !== undefined) {
    const text = read("connection.hostKeyFile", c.hostKeyFile);
    if (text !== undefined) {
      // known_hosts style files may carry a comment after the key: keep type and key only.
      const key = text.trim().split(/\s+/).slice(0, 2).join(" ");
      if (sshPublicKey.safeParse(key).success) c.hostKey = key;
      else problems.push(`${at}.connection.hostKeyFile: ${c.hostKeyFile} does not hold an OpenSSH public host key`);
    }
    delete c.hostKeyFile;
  }
  return problems;
}

type Rule = (host: HostConfig, at: string, stack?: Pick<StackConfig, "production" | "allowSelfSignedInProduction">) => string[];

/** Cross-field checks that a per-field schema cannot express, each small and named. */
const hostRules: Rule[] = [
  function hostKeyPinned(h, at) {
    return h.connection.hostKey === undefined && !h.connection.insecureSkipHostKeyCheck
      ? [`${at}.connection.hostKey: required (pin the host key, or set insecureSkipHostKeyCheck: true outside production)`]
      : [];
  },
  function hostKeyNotBoth(h, at) {
    return h.connection.hostKey !== undefined && h.connection.insecureSkipHostKeyCheck
      ? [`${at}.connection.insecureSkipHostKeyCheck: cannot be true while hostKey is pinned`]
      : [];
  },
  function someSubmissionService(h, at) {
    return !h.services.submissions && !h.services.submission
      ? [`${at}.services: at least one of submissions (465) or submission (587) must stay on`]
      : [];
  },
  function uniqueUsers(h, at) {
    const seen = new Set<string>();
    return h.users.flatMap((u, i) => {
      const key = u.name.toLowerCase();
      if (seen.has(key)) return [`${at}.users[${i}].name: duplicate user '${u.name}'`];
      seen.add(key);
      return [];
    });
  },
  function usersNeedPasswdFile(h, at) {
    return h.authBackend === "system" && h.users.length > 0
      ? [`${at}.users: only used with authBackend passwd-file; with 'system' the host's own accounts log in`]
      : [];
  },
  function systemLoginsNeedDomains(h, at) {
    // With PAM there is no user list to map senders from: the mapping is login@domain for the domains given.
    return h.authBackend === "system" && h.senderPolicy.loginMatch && h.senderPolicy.systemDomains.length === 0
      ? [`${at}.senderPolicy.systemDomains: required with authBackend system while loginMatch is on (or set loginMatch: false)`]
      : [];
  },
  function sendersKnown(h, at) {
    if (!h.senderPolicy.loginMatch) return [];
    return h.users.flatMap((u, i) =>
      u.senders === undefined && !address.safeParse(u.name).success
        ? [`${at}.users[${i}].senders: required when the login is not an email address and senderPolicy.loginMatch is on`]
        : [],
    );
  },
  function productionRules(h, at, stack) {
    if (stack?.production !== true) return [];
    const out: string[] = [];
    if (h.connection.insecureSkipHostKeyCheck) out.push(`${at}.connection.insecureSkipHostKeyCheck: not allowed in production`);
    if (h.connection.bastion && h.connection.bastion.hostKey === undefined) {
      out.push(`${at}.connection.bastion.hostKey: required in production`);
    }
    if (h.certificate.mode === "selfSigned" && !stack.allowSelfSignedInProduction) {
      out.push(`${at}.certificate.mode: selfSigned is refused in production (use ca or provided, or set allowSelfSignedInProduction)`);
    }
    return out;
  },
];

function checkHost(host: HostConfig, at: string, stack?: Parameters<Rule>[2]): string[] {
  const problems = resolveFiles(host, at);
  return [...problems, ...hostRules.flatMap((rule) => rule(host, at, stack))];
}

/** Validates one host's arguments (the component's own entry point). */
export function parseHost(input: unknown, at = "args"): HostConfig {
  const result = hostSchema.safeParse(input);
  if (!result.success) throw new ConfigError(result.error.issues.map((i) => formatIssue(at, i, input)));
  const problems = checkHost(result.data, at);
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data;
}

/** Stacks named like this get the production rules unless their config says `production: false`. */
export const PRODUCTION_STACK_NAMES = ["production", "prod", "prd"];

export function isProductionStackName(stack: string): boolean {
  return PRODUCTION_STACK_NAMES.includes(stack.toLowerCase());
}

/** Validates a whole stack's configuration, before any resource exists. */
export function parseStack(input: unknown): StackConfig {
  const result = stackSchema.safeParse(input);
  if (!result.success) throw new ConfigError(result.error.issues.map((i) => formatIssue("", i, input)));
  const stack = result.data;
  if (stack.driftCheck) for (const h of stack.hosts) h.driftCheck = true;
  const problems = stack.hosts.flatMap((h, i) => checkHost(h, `hosts[${i}]`, stack));
  const names = new Set<string>();
  const targets = new Map<string, number>();
  stack.hosts.forEach((h, i) => {
    if (names.has(h.name)) problems.push(`hosts[${i}].name: duplicate host name '${h.name}'`);
    names.add(h.name);
    // Two components on one server would fight over the same files.
    const target = `${h.connection.host.toLowerCase()}:${h.connection.port}`;
    const first = targets.get(target);
    if (first !== undefined) problems.push(`hosts[${i}].connection.host: ${target} is already hosts[${first}]'s server`);
    else targets.set(target, i);
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return stack;
}
