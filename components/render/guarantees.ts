/**
 * The settings that carry RFC 8314's promises, and which promise each carries. One list serves three purposes:
 * validation refuses them in the escape hatches (postfixExtraSettings, dovecotExtraConfig) with the promise they
 * would break; the check step reads their effective values back on the host and compares them with ours, so that a
 * weakened service fails `pulumi up` however it got weak.
 */
import type { HostConfig } from "../schema";
import type { PostfixPlan } from "./postfix";
import { tlsPolicy } from "./tlsPolicy";

interface Guard {
  readonly match: RegExp;
  readonly guarantee: string;
}

/** Postfix parameters (master.cf -o) that postfixExtraSettings may not set. */
export const POSTFIX_GUARDS: readonly Guard[] = [
  { match: /^smtpd_tls_security_level$|^smtpd_(use|enforce)_tls$/, guarantee: "TLS before AUTH and MAIL (on 587 nothing but STARTTLS until TLS is up)" },
  { match: /^smtpd_tls_wrappermode$/, guarantee: "implicit TLS on 465 (RFC 8314 §3.3)" },
  { match: /^smtpd_tls_auth_only$/, guarantee: "AUTH never offered before TLS" },
  { match: /^smtpd_tls_(mandatory_)?protocols$/, guarantee: "TLS 1.2 or newer only" },
  // Everything else of TLS except what only changes logging: the certificate served and the cipher policy.
  { match: /^(smtpd_tls_(?!loglevel$|received_header$).+|tls_.+)$/, guarantee: "the deployed certificate and strong ciphers only" },
  { match: /^smtpd_sasl_/, guarantee: "AUTH required, checked by Dovecot through its socket" },
  {
    match: /^smtpd_(client|helo|sender|recipient|relay|data|end_of_data|etrn)_restrictions$|^smtpd_restriction_classes$|^smtpd_authorized_/,
    guarantee: "no mail and no relaying without AUTH",
  },
  { match: /^smtpd_sender_login_maps$|^smtpd_reject_unlisted_sender$/, guarantee: "the sender check (a login uses only its own addresses)" },
  { match: /^cleanup_service_name$/, guarantee: "the client's IP hidden from the Received header" },
  {
    match: /^smtpd_client_(auth|connection|message|recipient|new_tls_session)_rate_limit$|^smtpd_client_connection_count_limit$|^smtpd_(soft|hard)_error_limit$|^smtpd_error_sleep_time$|^smtpd_client_event_limit_exceptions$/,
    guarantee: "the brute-force limits (set them under limits)",
  },
];

/**
 * Dovecot settings that dovecotExtraConfig may not set, at any nesting level, and sections it may not open. An
 * added passdb could accept any password; a service block could move the SASL socket or open cleartext IMAP.
 */
export const DOVECOT_GUARDS: readonly Guard[] = [
  { match: /^(ssl|ssl_.+)$/, guarantee: "TLS required, TLS 1.2 or newer, the deployed certificate" },
  { match: /^(disable_plaintext_auth|auth_allow_cleartext|login_trusted_networks|auth_mechanisms)$/, guarantee: "no password before TLS" },
  // auth_verbose and auth_debug only log; the *_passwords variants would log passwords, so they stay guarded.
  { match: /^(passdb|userdb|auth_(?!verbose$|debug$).+)$/, guarantee: "only the configured users, their passwords never logged, and the brute-force delay" },
  { match: /^(service|protocol|local|remote|inet_listener|unix_listener)$/, guarantee: "the SASL socket (Postfix only) and IMAP over TLS only" },
];

export function guardFor(guards: readonly Guard[], name: string): string | undefined {
  return guards.find((g) => g.match.test(name))?.guarantee;
}

/** check step: `service/type/name=value|guarantee` for every guarded parameter the plan sets. */
export function postfixGuarantees(plan: PostfixPlan): string[] {
  return plan.services.flatMap((s) =>
    Object.entries(s.params).flatMap(([name, value]) => {
      const guarantee = guardFor(POSTFIX_GUARDS, name);
      return guarantee === undefined ? [] : [`${s.key}/${name}=${value}|${guarantee}`];
    }),
  );
}

/** check step: `syntax|name=value|guarantee`, for `doveconf -h name` on the matching Dovecot version. */
export function dovecotGuarantees(host: HostConfig): string[] {
  const cleartext = "no password before TLS";
  const lines = ["2.3|disable_plaintext_auth=yes|" + cleartext, "2.4|auth_allow_cleartext=no|" + cleartext];
  if (host.services.imaps) {
    const min = tlsPolicy(host.tls.profile).minProtocol;
    for (const syntax of ["2.3", "2.4"]) {
      lines.push(`${syntax}|ssl=required|IMAP over TLS only`, `${syntax}|ssl_min_protocol=${min}|TLS ${min.slice(5)} or newer only`);
    }
  }
  return lines;
}
