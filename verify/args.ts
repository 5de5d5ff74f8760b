/**
 * Command-line parsing (node's util.parseArgs) into a plan with no I/O done yet: files, environment variables and
 * the stack are read later (verify/resolve.ts), so every rule here is unit-testable. A password is never accepted
 * on the command line: argv is readable by every local user (ps, /proc) and lands in shell history and CI logs.
 */
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import type { MailboxService } from "./types";

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const USAGE = `usage: mail-submission-verify [options] <host[:hostname]>...
       mail-submission-verify --stack <name> [options]

Checks, as a mail client would, that RFC 8314 submission endpoints behave: 465 implicit TLS, 587 STARTTLS, TLS 1.2+,
a valid certificate, no AUTH or mail before TLS, no relaying without AUTH, no AUTH on 25; and IMAPS (993) and
POP3S (995) where deployed: implicit TLS, TLS 1.2+, a valid certificate, no login in clear on 143 / 110.

targets:
  <host[:hostname]>        where to connect; :hostname (or --hostname) names the certificate / SNI, e.g.
                           203.0.113.10:mail.example.com or [2001:db8::1]:mail.example.com
  --stack <name>           the hosts of a Pulumi stack (pulumi stack output hosts --json --stack <name>)
  --hostname <name>        the name to verify for targets given as an IP address without :hostname
  --resolve <name>:<ip>    connect to ip for the host called name (e.g. one from --stack) instead of asking DNS
options:
  --ca-file <pem>          trust these CAs instead of the system trust store
  --warn-days <n>          warn when the certificate expires in fewer days (default 21)
  --fail-days <n>          fail when it expires in fewer days (default 7)
  --timeout <seconds>      per network operation (default 10)
  --imaps, --pop3s         also check IMAPS on 993 / POP3S on 995 of the hosts named here (--stack: where deployed)
  --user <login>           test account: AUTH PLAIN and LOGIN must succeed on 465 and 587 (PLAIN on 993 / 995)
  --password-env <VAR>     its password, from this environment variable
  --password-file <file>   or from this file (one line)
  --send --from <a> --to <b>  also submit a message on each port (250 expected)
  --relay-to <address>     recipient of the unauthenticated relay attempt (default relay-test@example.org)
  --srv <domain>           check _submissions._tcp / _submission._tcp SRV records of the domain (repeatable)
  --dns-server <ip[:port]> resolver for --srv (repeatable; default: the system's)
  --no-port25              do not look at port 25
  --json                   JSON instead of a table
  -h, --help               this text
exit status: 0 no check failed, 1 a check failed, 2 usage error`;

export type PasswordSource = { env: string } | { file: string };

export interface Plan {
  help: boolean;
  json: boolean;
  /** Positional targets, parsed. */
  hosts: { address: string; hostname: string; label: string }[];
  stack?: string;
  caFile?: string;
  user?: string;
  passwordSource?: PasswordSource;
  send?: { from: string; to: string };
  relayTo: string;
  timeoutMs: number;
  warnDays: number;
  failDays: number;
  srvDomains: string[];
  dnsServers: string[];
  port25: boolean;
  /** --imaps / --pop3s: mailbox services to check on the hosts named on the command line. */
  mailbox: MailboxService[];
  /** Host name (lower case) → the address to connect to instead of resolving the name. */
  resolve: Record<string, string>;
}

const OPTIONS = {
  stack: { type: "string" }, hostname: { type: "string" }, "ca-file": { type: "string" },
  "warn-days": { type: "string" }, "fail-days": { type: "string" }, timeout: { type: "string" },
  user: { type: "string" }, "password-env": { type: "string" }, "password-file": { type: "string" },
  send: { type: "boolean" }, from: { type: "string" }, to: { type: "string" }, "relay-to": { type: "string" },
  srv: { type: "string", multiple: true }, "dns-server": { type: "string", multiple: true }, resolve: { type: "string", multiple: true },
  "no-port25": { type: "boolean" }, imaps: { type: "boolean" }, pop3s: { type: "boolean" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" },
} as const;

const PASSWORD_FLAG = /^(--pass(word)?|-p)(=|$)/;

function count(name: string, raw: string | undefined, fallback: number, positive = false): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || (positive && n === 0)) throw new UsageError(`--${name} must be a ${positive ? "positive" : "non-negative"} number, got "${raw}"`);
  return n;
}

/** `host`, `host:hostname`, `[v6]` or `[v6]:hostname`; an IP address needs a hostname (here or --hostname). */
export function parseTarget(arg: string, defaultHostname?: string): { address: string; hostname: string; label: string } {
  let address = arg;
  let hostname: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(arg);
  if (bracket) [address, hostname] = [bracket[1] ?? "", bracket[2]];
  else if (isIP(arg) !== 6 && arg.includes(":")) [address, hostname] = [arg.slice(0, arg.indexOf(":")), arg.slice(arg.indexOf(":") + 1)];
  hostname ??= isIP(address) ? defaultHostname : address;
  if (address === "" || hostname === "") throw new UsageError(`target "${arg}": empty host or hostname`);
  if (hostname === undefined) throw new UsageError(`target "${arg}" is an IP address: name the host to verify, as ip:hostname ([ipv6]:hostname) or with --hostname`);
  if (!/^[A-Za-z0-9.-]+$/.test(hostname) || isIP(hostname)) throw new UsageError(`target "${arg}": "${hostname}" is not a DNS name`);
  return { address, hostname: hostname.toLowerCase(), label: arg };
}

/** `name:ip` (`name:[v6]` or `name:v6` too), curl's --resolve without the port. */
function resolveEntry(s: string): [string, string] {
  const at = s.indexOf(":");
  const name = s.slice(0, at).toLowerCase();
  const ip = s.slice(at + 1).replace(/^\[(.*)\]$/, "$1");
  if (at <= 0 || !isIP(ip)) throw new UsageError(`--resolve "${s}": expected name:ip, e.g. mail.example.com:203.0.113.10`);
  return [name, ip];
}

function dnsServer(s: string): string {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  const ip = m?.[1] ?? s;
  const port = m?.[2];
  if (!isIP(ip) || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) throw new UsageError(`--dns-server "${s}": expected ip or ip:port`);
  return s;
}

export function parsePlan(argv: readonly string[]): Plan {
  const pw = argv.find((a) => PASSWORD_FLAG.test(a));
  if (pw) throw new UsageError(`${pw.split("=")[0]} is not accepted: a password on the command line is visible to other users and kept in shell history. Use --password-env VAR or --password-file FILE`);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  const plan: Plan = {
    help: v.help === true, json: v.json === true, hosts: [], relayTo: v["relay-to"] ?? "relay-test@example.org",
    timeoutMs: count("timeout", v.timeout, 10, true) * 1000, warnDays: count("warn-days", v["warn-days"], 21), failDays: count("fail-days", v["fail-days"], 7),
    srvDomains: v.srv ?? [], dnsServers: (v["dns-server"] ?? []).map(dnsServer), port25: v["no-port25"] !== true,
    mailbox: (["imaps", "pop3s"] as const).filter((s) => v[s] === true),
    resolve: Object.fromEntries((v.resolve ?? []).map(resolveEntry)),
    ...(v.stack !== undefined ? { stack: v.stack } : {}), ...(v["ca-file"] !== undefined ? { caFile: v["ca-file"] } : {}),
  };
  if (plan.help) return plan;
  plan.hosts = parsed.positionals.map((p) => parseTarget(p, v.hostname?.toLowerCase()));
  if (plan.hosts.length === 0 && plan.stack === undefined) throw new UsageError("no targets: name hosts, or --stack <name>");
  if (plan.failDays > plan.warnDays) throw new UsageError(`--fail-days (${plan.failDays}) must not exceed --warn-days (${plan.warnDays})`);
  if (v["password-env"] !== undefined && v["password-file"] !== undefined) throw new UsageError("give --password-env or --password-file, not both");
  const source: PasswordSource | undefined = v["password-env"] !== undefined ? { env: v["password-env"] } : v["password-file"] !== undefined ? { file: v["password-file"] } : undefined;
  if (v.user !== undefined && source === undefined) throw new UsageError("--user needs --password-env VAR or --password-file FILE");
  if (v.user === undefined && source !== undefined) throw new UsageError("--password-env / --password-file need --user");
  if (v.user !== undefined && source !== undefined) Object.assign(plan, { user: v.user, passwordSource: source });
  if (v.send === true) {
    if (v.user === undefined || v.from === undefined || v.to === undefined) throw new UsageError("--send needs --user, --from and --to");
    plan.send = { from: v.from, to: v.to };
  } else if (v.from !== undefined || v.to !== undefined) {
    throw new UsageError("--from/--to are only used with --send");
  }
  for (const [flag, addr] of [["--from", plan.send?.from], ["--to", plan.send?.to], ["--relay-to", plan.relayTo]] as const) {
    if (addr !== undefined && !/^[^\s<>@]+@[^\s<>@]+$/.test(addr)) throw new UsageError(`${flag} "${addr}" is not an address`);
  }
  return plan;
}
