/**
 * Dovecot settings that dovecotExtraConfig may not set, at any nesting level, and sections it may not open, with the
 * promise each carries. An added passdb could accept any password; a service block could move the SASL socket or
 * open cleartext IMAP. Validation refuses them (dovecot/extraConfig.ts); the check step reads the ones we set back
 * (dovecot/guarantees.ts). Plain data: imports nothing.
 */
export const DOVECOT_GUARDS: readonly { readonly match: RegExp; readonly guarantee: string }[] = [
  { match: /^(ssl|ssl_.+)$/, guarantee: "TLS required, TLS 1.2 or newer, the deployed certificate" },
  { match: /^(disable_plaintext_auth|auth_allow_cleartext|login_trusted_networks|auth_mechanisms)$/, guarantee: "no password before TLS" },
  // auth_verbose and auth_debug only log; the *_passwords variants would log passwords, so they stay guarded.
  { match: /^(passdb|userdb|auth_(?!verbose$|debug$).+)$/, guarantee: "only the configured users, their passwords never logged, and the brute-force delay" },
  { match: /^(service|protocol|local|remote|inet_listener|unix_listener)$/, guarantee: "the SASL socket (Postfix only) and IMAP over TLS only" },
  // Our instance stays apart from the host's Dovecot and serves no protocol it was not asked for.
  {
    match: /^(protocols|listen|base_dir|state_dir|instance_name|shutdown_clients|first_valid_uid|last_valid_uid|mail_(location|driver|path|home|inbox_path|uid|gid|privileged_group|access_groups|chroot)|dovecot_config_version|dovecot_storage_version)$/,
    guarantee: "an instance of our own beside the host's Dovecot, serving only the SASL socket and the services switched on",
  },
];

/** The cleartext guarantee as each Dovecot syntax spells it. */
export const DOVECOT_NO_CLEARTEXT = "no password before TLS";
