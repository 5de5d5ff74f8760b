/**
 * The Postfix parameters (master.cf -o) that carry RFC 8314's promises, and which promise each carries. Validation
 * refuses them in postfixExtraSettings with the promise they would break (config/schema.ts); the check step reads
 * their effective values back on the host (postfix/guarantees.ts), so that a weakened service fails `pulumi up`
 * however it got weak. Plain data: imports nothing.
 */
export const POSTFIX_GUARDS: readonly { readonly match: RegExp; readonly guarantee: string }[] = [
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
