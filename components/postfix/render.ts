/**
 * Postfix settings as data. Everything is scoped to the submission services with master.cf `-o` overrides
 * (postconf -P), so main.cf stays as the operator had it and port 25 keeps behaving as before.
 * Parameter docs: https://www.postfix.org/postconf.5.html
 */
import { createHash } from "node:crypto";
import type { HostConfig } from "../config/resolve";
import { dkimAlgorithms } from "../dkim/render";
import { CLEANUP_SERVICE, dkimPaths, LISTEN_ALL, MAIN_MILTERS_TOKEN, paths, ports, ratelimitPaths, type RatelimitKind } from "../host/contract";
import { ratelimitKinds } from "../ratelimit/render";
import { tlsPolicy } from "../tls/policy";

export interface MasterService {
  /** `service/type`, the key postconf -M and -P use. */
  readonly key: string;
  /** The whole master.cf line. */
  readonly line: string;
  readonly params: Readonly<Record<string, string>>;
}

export interface PostfixPlan {
  readonly services: readonly MasterService[];
  /** Lookup tables, by file name, in paths.postfixMapDir/<mapVersion>. */
  readonly files: Readonly<Record<string, string>>;
  /**
   * Names the tables' directory by their content, so that a candidate's tables can sit beside the live ones while
   * the candidate is rehearsed, and master.cf alone switches from one set to the other.
   */
  readonly mapVersion: string;
}

function smtpdParams(host: HostConfig, service: "submission" | "submissions", mapDir: string): Record<string, string> {
  const tls = tlsPolicy(host.tls.profile);
  const limiters = limiterChecks(host);
  const params: Record<string, string> = {
    syslog_name: `postfix/${service}`,
    // RFC 8314: 465 is TLS from the first byte; 587 refuses everything but STARTTLS, EHLO and QUIT until TLS is up.
    smtpd_tls_security_level: "encrypt",
    ...(service === "submissions" ? { smtpd_tls_wrappermode: "yes" } : {}),
    smtpd_tls_chain_files: `${paths.certKey},${paths.certChain}`,
    // Debian's main.cf sets the legacy cert/key pair (snakeoil); cleared so they cannot be mixed with the chain.
    smtpd_tls_cert_file: "",
    smtpd_tls_key_file: "",
    smtpd_tls_protocols: tls.postfixProtocols,
    smtpd_tls_mandatory_protocols: tls.postfixProtocols,
    smtpd_tls_ciphers: "high",
    smtpd_tls_mandatory_ciphers: "high",
    // Postfix's "high" grade still includes anonymous suites; testssl.sh rightly flags them (FIELD-NOTES).
    smtpd_tls_exclude_ciphers: tls.excludedCiphers,
    smtpd_tls_mandatory_exclude_ciphers: tls.excludedCiphers,
    tls_high_cipherlist: tls.cipherList,
    tls_preempt_cipherlist: "yes",
    smtpd_tls_loglevel: "1",
    // RFC 8314 §4.3: the TLS version and cipher go into the Received header (Postfix writes them as a comment, the
    // closest it comes to the RFC's "tls" clause); the header rewrite below keeps them when it drops the client.
    smtpd_tls_received_header: "yes",
    // AUTH is never offered before TLS, and only via Dovecot's socket.
    smtpd_tls_auth_only: "yes",
    smtpd_sasl_auth_enable: "yes",
    smtpd_sasl_type: "dovecot",
    smtpd_sasl_path: paths.saslSocket,
    smtpd_sasl_security_options: "noanonymous",
    smtpd_sasl_tls_security_options: "noanonymous",
    smtpd_sasl_authenticated_header: "no",
    // No relaying, and no mail at all, without AUTH. Restrictions are set in full so that main.cf's, written for
    // port 25, never leak in.
    smtpd_client_restrictions: "permit_sasl_authenticated,reject",
    smtpd_helo_restrictions: "",
    smtpd_sender_restrictions: host.senderPolicy.loginMatch ? "reject_sender_login_mismatch,permit_sasl_authenticated,reject" : "permit_sasl_authenticated,reject",
    smtpd_recipient_restrictions: [...limiters.rcpt, "permit_sasl_authenticated", "reject"].join(","),
    smtpd_relay_restrictions: "permit_sasl_authenticated,reject",
    smtpd_data_restrictions: limiters.data.join(","),
    milter_macro_daemon_name: "ORIGINATING",
    // SMTP smuggling (CVE-2023-51764): only <CR><LF>.<CR><LF> ends DATA, a bare <LF> is read as <CR><LF> (normalize,
    // not reject: mail apps and scripts that send bare LFs keep working), for every client (no exclusions, which
    // default to $mynetworks); and no pipelined commands before a client has authenticated.
    smtpd_forbid_bare_newline: "normalize",
    smtpd_forbid_bare_newline_exclusions: "",
    smtpd_forbid_unauth_pipelining: "yes",
    // Password guessing: anvil(8) counts per client IP and anvil_rate_time_unit (60 s unless main.cf says
    // otherwise); a failed AUTH is an error, so the error limits slow down and then cut off a guesser.
    smtpd_client_auth_rate_limit: String(host.limits.authPerMinute),
    smtpd_client_connection_rate_limit: String(host.limits.connectionsPerMinute),
    smtpd_client_connection_count_limit: String(host.limits.concurrentConnections),
    smtpd_soft_error_limit: String(host.limits.errorsBeforeDelay),
    smtpd_hard_error_limit: String(host.limits.errorsBeforeDisconnect),
    smtpd_error_sleep_time: "1s",
  };
  if (limiters.data.length > 0) {
    // A limiter that does not answer: DEFER is a 4xx, so the client keeps the mail and retries; DUNNO lets it pass.
    params.smtpd_policy_service_default_action = host.limits.whenLimiterDown === "defer" ? "DEFER" : "DUNNO";
  }
  if (host.senderPolicy.loginMatch) {
    params.smtpd_sender_login_maps =
      host.authBackend === "system" ? `regexp:${mapDir}/sender_login_regexp` : `texthash:${mapDir}/sender_login`;
  }
  if (host.senderPolicy.hideClientIp) params.cleanup_service_name = CLEANUP_SERVICE;
  const signers = dkimAlgorithms(host).map(dkimPaths.milter);
  if (signers.length > 0) {
    // Our signers after main.cf's own milters (the host fills those in, postfix/listen.sh with_main_milters); a
    // signer that does not answer defers the message (4xx, the client retries) rather than let it out unsigned.
    params.smtpd_milters = `${MAIN_MILTERS_TOKEN}${signers.join(",")}`;
    params.milter_default_action = "tempfail";
  }
  return { ...params, ...host.postfixExtraSettings };
}

/**
 * The limiters' checks (ratelimit/render.ts), before anything can permit: asked at RCPT and at DATA, since each
 * policyd-rate-limit version counts at one of them. Restriction lists split on commas too, which keeps each value
 * one token for `postconf -P`. At DATA the recipients are checked first, so that a message refused for its
 * recipients is not counted as sent.
 */
function limiterChecks(host: HostConfig): { rcpt: string[]; data: string[] } {
  const check = (kinds: readonly RatelimitKind[]) => kinds.map((k) => `check_policy_service,${ratelimitPaths.policy(k)}`);
  const kinds = ratelimitKinds(host);
  return { rcpt: check(kinds), data: check([...kinds].reverse()) };
}

/** texthash map: sender address (or @domain) → the logins allowed to use it. */
export function renderSenderLoginMap(users: readonly { readonly name: string; readonly senders?: readonly string[] }[]): string {
  const owners = new Map<string, string[]>();
  for (const user of users) {
    for (const sender of user.senders ?? [user.name]) {
      const key = sender.toLowerCase();
      owners.set(key, [...(owners.get(key) ?? []), user.name]);
    }
  }
  const lines = [...owners.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([s, logins]) => `${s} ${logins.join(",")}`);
  return `# Managed by mail-submission: sender -> logins allowed to use it (smtpd_sender_login_maps)\n${lines.join("\n")}\n`;
}

/**
 * regexp map for system accounts: the sender alice@domain (or alice+tag@domain) belongs to the login "alice", for
 * each domain given. Postfix regexp tables match case-insensitively and substitute ${1} with the first group.
 */
export function renderSystemSenderLoginMap(domains: readonly string[]): string {
  const alternatives = domains.map((d) => d.toLowerCase().replaceAll(".", "\\.")).join("|");
  return `# Managed by mail-submission: system login -> its addresses (smtpd_sender_login_maps)\n/^([^@+]+)(\\+[^@]*)?@(${alternatives})$/ \${1}\n`;
}

/**
 * Rewrites the Received header of the authenticated hop, which names the client's name and IP on its first line
 * ("from helo (rdns [ip])"): that line goes, the rest stays (the TLS comment, "by … with ESMTPSA id …", "for",
 * the date), as mail-in-a-box does. Postfix's regexp tables match the whole folded header and "." spans its line
 * breaks; the first rule only matches a first line that ends in "[address])" followed by the fold, so a header of
 * any other shape falls to the second rule, which drops it whole: the client's address never passes.
 */
export function renderHeaderChecks(): string {
  return [
    "# Managed by mail-submission: hide the submitting client's name and address, keep the rest of the Received header",
    "/^Received: from [^[:cntrl:]]*\\[[^][:cntrl:]]*\\]\\)([[:cntrl:]].*[[:space:]]with ESMTPSA[[:space:]].*)$/ REPLACE Received:$1",
    "/^Received: .*[[:space:]]with ESMTPSA[[:space:]]/ IGNORE",
    "",
  ].join("\n");
}

function renderFiles(host: HostConfig): Record<string, string> {
  const files: Record<string, string> = {};
  if (host.senderPolicy.loginMatch && host.authBackend === "system") {
    files.sender_login_regexp = renderSystemSenderLoginMap(host.senderPolicy.systemDomains);
  } else if (host.senderPolicy.loginMatch) {
    files.sender_login = renderSenderLoginMap(host.users);
  }
  if (host.senderPolicy.hideClientIp) files.header_checks = renderHeaderChecks();
  return files;
}

export function renderPostfix(host: HostConfig): PostfixPlan {
  const files = renderFiles(host);
  const digest = createHash("sha256");
  for (const name of Object.keys(files).sort()) digest.update(`${name}\0${files[name]}\0`);
  const mapVersion = digest.digest("hex").slice(0, 16);
  const mapDir = `${paths.postfixMapDir}/${mapVersion}`;
  const services: MasterService[] = [];
  for (const name of ["submissions", "submission"] as const) {
    if (!host.services[name]) continue;
    // One entry per address family, on the wildcard address: Postfix binds an entry without an address only on
    // main.cf's inet_interfaces (loopback-only on many hosts), and ours must answer wherever clients connect. The
    // host keeps the families its Postfix speaks (inet_protocols; postfix/listen.sh). Chroot off ("n"): the TLS
    // files and the texthash map are read from /etc at every start.
    for (const address of Object.values(LISTEN_ALL)) {
      const service = `${address}:${ports[name]}`;
      services.push({ key: `${service}/inet`, line: `${service} inet n - n - - smtpd`, params: smtpdParams(host, name, mapDir) });
    }
  }
  if (host.senderPolicy.hideClientIp) {
    services.push({
      key: `${CLEANUP_SERVICE}/unix`,
      line: `${CLEANUP_SERVICE} unix n - n - 0 cleanup`,
      params: { syslog_name: `postfix/${CLEANUP_SERVICE}`, header_checks: `regexp:${mapDir}/header_checks` },
    });
  }
  return { services, files, mapVersion };
}
