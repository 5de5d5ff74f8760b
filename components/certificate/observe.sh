# shellcheck shell=bash
# What the certificate step owns, for the drift read (host/observe.sh). A pair the stack gave: the link, the chain,
# and the key by its public half. A pair the host makes (acme, host): the settings and units that make it, never
# the pair itself, which changes with every renewal and is no drift.

observe_certificate() {
  local source f
  source=$(cat "$CERT_SOURCE_FILE" 2>/dev/null || echo pulumi)
  printf 'certificate:source %s\n' "$source"
  case "$source" in
    acme)
      # Not the env file: its digest would be derived from the DNS provider's secrets.
      for f in args ca.pem port days names; do printf 'certificate:acme-%s %s\n' "$f" "$(file_digest "$ACME_CONFIG_DIR/$f")"; done
      printf 'certificate:acme-units %s\n' "$(cat "$ACME_RENEW" "$ACME_SERVICE" "$ACME_TIMER" 2>/dev/null | digest_of)"
      printf 'certificate:acme-timer %s\n' "$(systemctl is-enabled "$ACME_UNIT_NAME.timer" 2>/dev/null || echo absent)"
      ;;
    host)
      printf 'certificate:watch %s\n' "$(cat "$CERT_WATCH_PATH" "$CERT_WATCH_SERVICE" 2>/dev/null | digest_of)"
      printf 'certificate:watch-unit %s\n' "$(systemctl is-enabled "$CERT_WATCH_UNIT_NAME.path" 2>/dev/null || echo absent)"
      ;;
    *)
      printf 'certificate:link %s\n' "$(readlink "$TLS_LINK" 2>/dev/null || echo absent)"
      printf 'certificate:chain %s\n' "$(file_digest "$TLS_LINK/$CERT_CHAIN_FILE")"
      # The key by its public half: a digest of the private key would still be derived from the secret.
      printf 'certificate:key %s\n' "$(openssl pkey -pubout -in "$TLS_LINK/$CERT_KEY_FILE" 2>/dev/null | digest_of)"
      ;;
  esac
  if [ "$source" != pulumi ]; then printf 'certificate:installer %s\n' "$(file_digest "$CERT_INSTALL")"; fi
}
