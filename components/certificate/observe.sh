# shellcheck shell=bash
# What the certificate step owns, for the drift read (host/observe.sh): the link, the chain, and the key by its
# public half.

observe_certificate() {
  printf 'certificate:link %s\n' "$(readlink "$TLS_LINK" 2>/dev/null || echo absent)"
  printf 'certificate:chain %s\n' "$(file_digest "$TLS_LINK/$CERT_CHAIN_FILE")"
  # The key by its public half: a digest of the private key would still be derived from the secret.
  printf 'certificate:key %s\n' "$(openssl pkey -pubout -in "$TLS_LINK/$CERT_KEY_FILE" 2>/dev/null | digest_of)"
}
