/**
 * parse (config/schema.ts) → resolve (config/resolve.ts) → rules → ConfigError. Every message starts with the
 * dotted path of the key at fault, and all problems are reported at once, so an operator fixes a stack file in one
 * go. What comes out is frozen: the rest of the code reads it and never checks it again.
 */
import { z } from "zod";
import { providedCertificateProblems, providedCertificateWarnings } from "./certificate";
import { deepFreeze, resolveHost, type Frozen, type HostConfig } from "./resolve";
import { address, hostSchema, stackSchema, type ParsedStack } from "./schema";

/** A stack's config as the program reads it: every host validated and resolved. */
export type StackConfig = Frozen<Omit<ParsedStack, "hosts">> & { readonly hosts: readonly HostConfig[] };

/** A mistake in the user's configuration, as opposed to a bug of ours. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid mail-submission configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/** `a.b[0].c`, as every config error names its key. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
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
  // A record's key that fails its own schema: that schema's reason, not zod's "Invalid key in record".
  if (issue.code === "invalid_key" && issue.issues[0] !== undefined) return `${path}: ${issue.issues[0].message}`;
  return `${path}: ${issue.message}`;
}

type Rule = (host: HostConfig, at: string, stack?: Pick<ParsedStack, "production" | "allowSelfSignedInProduction">) => string[];

/** Cross-field checks that a per-field schema cannot express, each small and named. */
const hostRules: Rule[] = [
  function providedCertificate(h, at) {
    return providedCertificateProblems(h, at);
  },
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
  function dkimSelectorsDistinct(h, at) {
    // Each selector names one key: the one signing now, the next one, the retired ones (and their Ed25519 twins).
    const names = (s: string) => [s, ...(h.dkim.ed25519 ? [`${s}-ed25519`] : [])];
    const signing = names(h.dkim.selector);
    const out: string[] = [];
    if (h.dkim.nextSelector !== undefined && [...signing, ...h.dkim.retiredSelectors].some((s) => names(h.dkim.nextSelector ?? "").includes(s))) {
      out.push(`${at}.dkim.nextSelector: '${h.dkim.nextSelector}' is already the selector that signs or a retired one; choose a new name`);
    }
    h.dkim.retiredSelectors.forEach((s, i) => {
      if (names(s).some((n) => signing.includes(n))) out.push(`${at}.dkim.retiredSelectors[${i}]: '${s}' is the selector that signs now; retire it by choosing a new dkim.selector`);
    });
    return out;
  },
  function perLoginKnown(h, at) {
    // With passwd-file the logins are listed, so a key that names none of them is a typo that would limit nobody.
    if (h.authBackend !== "passwd-file") return [];
    const logins = new Set(h.users.map((u) => u.name.toLowerCase()));
    return Object.keys(h.limits.perLogin)
      .filter((l) => !logins.has(l.toLowerCase()))
      .map((l) => `${at}.limits.perLogin.${l}: no user logs in as '${l}'`);
  },
  function bansNeedFirewall(h, at) {
    const out: string[] = [];
    if (h.bans.enabled && h.firewall.backend === "none") out.push(`${at}.bans.enabled: bans go into the host's firewall, and firewall.backend is none (choose a backend, or set bans.enabled: false)`);
    if (h.bans.maxBanTimeSeconds < h.bans.banTimeSeconds) out.push(`${at}.bans.maxBanTimeSeconds: shorter than bans.banTimeSeconds (${h.bans.banTimeSeconds})`);
    return out;
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

function checkHost(parsed: ParsedStack["hosts"][number], at: string, stack?: Parameters<Rule>[2]): { host: HostConfig; problems: string[] } {
  const { host, problems } = resolveHost(parsed, at, stack?.production === true);
  return { host, problems: [...problems, ...hostRules.flatMap((rule) => rule(host, at, stack))] };
}

/** What is legal but doubtful about a valid host, each starting with its key's path (the component warns). */
export function hostWarnings(host: HostConfig, at: string): string[] {
  return providedCertificateWarnings(host, at);
}

/** Validates one host's arguments (the component's own entry point). */
export function parseHost(input: unknown, at = "args"): HostConfig {
  const result = hostSchema.safeParse(input);
  if (!result.success) throw new ConfigError(result.error.issues.map((i) => formatIssue(at, i, input)));
  const { host, problems } = checkHost(result.data, at);
  if (problems.length > 0) throw new ConfigError(problems);
  return host;
}

/**
 * What can be checked of a host while some of its values are not known yet (a preview before the resources they
 * come from exist): each known key against its grammar. A problem at, under or above an unknown key, and the
 * cross-field rules, wait for the values.
 */
export function knownHostProblems(input: unknown, unknown: readonly string[], at: string): string[] {
  const result = hostSchema.safeParse(input);
  if (result.success) return [];
  const waits = (path: string) => unknown.some((u) => path === u || path.startsWith(`${u}.`) || path.startsWith(`${u}[`) || u.startsWith(`${path}.`) || u.startsWith(`${path}[`));
  return result.error.issues.filter((i) => !waits(formatPath("", i.path))).map((i) => formatIssue(at, i, input));
}

/** Validates a whole stack's configuration, before any resource exists. */
export function parseStack(input: unknown): StackConfig {
  const result = stackSchema.safeParse(input);
  if (!result.success) throw new ConfigError(result.error.issues.map((i) => formatIssue("", i, input)));
  const checked = result.data.hosts.map((h, i) => checkHost(h, `hosts[${i}]`, result.data));
  const problems = checked.flatMap((c) => c.problems);
  const stack: StackConfig = deepFreeze({ ...result.data, hosts: checked.map((c) => c.host) });
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
