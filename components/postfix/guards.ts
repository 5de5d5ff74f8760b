/**
 * The Postfix parameters (master.cf -o) that carry RFC 8314's promises, and which promise each carries. Validation
 * refuses them in postfixExtraSettings with the promise they would break (config/schema.ts); the check step reads
 * their effective values back on the host (postfix/guarantees.ts), so that a weakened service fails `pulumi up`
 * however it got weak. Plain data: imports nothing.
 */

/**
 * The trusted-set class as a POSIX ERE over parameter names: the guard below, and the check step's read-back on the
 * host (awk has no lookahead; this class needs none).
 */
export const TRUST_PARAMS_ERE =
  "^(mynetworks|mynetworks_style|parent_domain_matches_subdomains|authorized_verp_clients|compatibility_level)$|_(exceptions|exceptions_networks|exclusions|networks|clients|hosts)$";
export const TRUST_GUARANTEE = "who is trusted or exempt from the limits (main.cf's mynetworks, never widened for our services)";

export const POSTFIX_GUARDS: readonly { readonly match: RegExp; readonly guarantee: string }[] = [
  { match: /^smtpd_tls_security_level$|^smtpd_(use|enforce)_tls$/, guarantee: "TLS before AUTH and MAIL (on 587 nothing but STARTTLS until TLS is up)" },
  { match: /^smtpd_tls_wrappermode$/, guarantee: "implicit TLS on 465 (RFC 8314 §3.3)" },
  { match: /^smtpd_tls_auth_only$/, guarantee: "AUTH never offered before TLS" },
  { match: /^smtpd_tls_(mandatory_)?protocols$/, guarantee: "TLS 1.2 or newer only" },
  { match: /^smtpd_tls_received_header$/, guarantee: "the TLS details recorded in the Received header (RFC 8314 §4.3)" },
  // Everything else of TLS except what only changes logging: the certificate served and the cipher policy.
  { match: /^(smtpd_tls_(?!loglevel$|received_header$).+|tls_.+)$/, guarantee: "the deployed certificate and strong ciphers only" },
  { match: /^smtpd_sasl_/, guarantee: "AUTH required, checked by Dovecot through its socket" },
  {
    match: /^smtpd_(client|helo|sender|recipient|relay|data|end_of_data|etrn)_restrictions$|^smtpd_restriction_classes$|^smtpd_authorized_/,
    guarantee: "no mail and no relaying without AUTH",
  },
  { match: /^smtpd_sender_login_maps$|^smtpd_reject_unlisted_sender$/, guarantee: "the sender check (a login uses only its own addresses)" },
  { match: /^cleanup_service_name$/, guarantee: "the client's IP hidden from the Received header" },
  // The milter chain, what happens when a milter is down, and the macros by which the signer knows a logged-in client.
  { match: /^(smtpd_milters|milter_default_action|milter_macro_daemon_name|milter_protocol|milter_[a-z]+(_[a-z]+)*_macros)$/, guarantee: "DKIM signing of submitted mail, deferred rather than sent unsigned when the signer is down" },
  { match: /^smtpd_forbid_(bare_newline|unauth_pipelining)$/, guarantee: "SMTP smuggling closed (CVE-2023-51764)" },
  {
    match: /^smtpd_client_(auth|connection|message|recipient|new_tls_session)_rate_limit$|^smtpd_client_connection_count_limit$|^smtpd_(soft|hard)_error_limit$|^smtpd_error_sleep_time$|^smtpd_client_event_limit_exceptions$/,
    guarantee: "the brute-force limits (set them under limits)",
  },
  // How our services talk to the limiters, and what they do when one does not answer.
  { match: /^smtpd_policy_service_/, guarantee: "the per-login sending limits (set them under limits)" },
  // Who counts as trusted or exempt, and every parameter those take their default from: mynetworks is the default
  // of smtpd_client_event_limit_exceptions, so `mynetworks=0.0.0.0/0` alone would exempt every client from the
  // limits. The class is named by what it is (networks, clients, hosts, exceptions, exclusions), so that
  // parameters of newer Postfix versions fall into it too; test/unit/postfixGuards.test.ts closes it over the
  // defaults of Debian's Postfix versions. These belong to main.cf, never to our services.
  { match: new RegExp(TRUST_PARAMS_ERE), guarantee: TRUST_GUARANTEE },
];

/**
 * Restriction keywords that let a client through, as a POSIX ERE over a value. Restriction lists are guarded, and a
 * value that carries one of these could still become a restriction class: no escape-hatch value may carry them, and
 * the check step fails when one stands on our services beside the settings we put there.
 */
export const PERMIT_VALUE_ERE = "(^|,)permit(_[a-z_]+)?(,|$)";
export const PERMIT_GUARANTEE = "no mail and no relaying without AUTH (restriction keywords that let clients through)";

