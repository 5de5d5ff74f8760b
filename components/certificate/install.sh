# shellcheck shell=bash
# Puts a certificate pair in place, the same way for every mode: by the certificate step, and on the host by the
# installed certificate-install (acme renewals, the host's own files). Chain and key always change together: each
# pair lives in a directory of its own, and the path the daemons read ($TLS_LINK) is a symbolic link switched with
# one rename. Whenever it stops, the daemons find either the old pair or the new one, never a new key with an old chain.

PENDING=$STATE_DIR/certificate.reload-pending

pubkey_digest() { "$@" 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1; }

# pair_problem CHAIN KEY: why the pair cannot be served (nothing when it can).
pair_problem() {
  openssl x509 -noout -in "$1" 2>/dev/null || { echo "the certificate chain is not a PEM certificate"; return 0; }
  openssl pkey -noout -in "$2" 2>/dev/null || { echo "the private key is not a PEM key"; return 0; }
  [ "$(pubkey_digest openssl x509 -pubkey -noout -in "$1")" = "$(pubkey_digest openssl pkey -pubout -in "$2")" ] ||
    echo "the private key does not belong to the first certificate of the chain"
}

reload_daemons() {
  # Daemons that already use the files pick the new ones up on reload; new smtpd/login processes read them.
  # Dovecot first: reloading it reloads Postfix after it, so no smtpd process stays with the old auth process.
  if service_active "$DOVECOT_UNIT_NAME"; then reload_dovecot no; else release_auth_clients; fi
}

# install_pair CHAIN KEY SOURCE: serves the pair (checked by the caller) unless it is served already; SOURCE
# (pulumi, acme, host) is recorded for the drift read. Sets PAIR_CHANGED=yes when it switched the link.
PAIR_CHANGED=no
install_pair() {
  local chain=$1 key=$2 dir tmp old
  mkdir -p "${CERT_SOURCE_FILE%/*}"
  printf '%s\n' "$3" >"$CERT_SOURCE_FILE"
  if [ -L "$TLS_LINK" ] && [ ! -e "$PENDING" ] &&
    cmp -s "$TLS_LINK/$CERT_CHAIN_FILE" "$chain" && cmp -s "$TLS_LINK/$CERT_KEY_FILE" "$key"; then
    return 0
  fi
  install -d -m 0755 -o root -g root "$ETC_DIR"
  # A new directory every time: the one the link names may have been edited by hand, and stays whole until the switch.
  dir=$TLS_LINK.$(date +%s%N)
  tmp=$(mktemp -d "$ETC_DIR/.${TLS_LINK##*/}.XXXXXX")
  # Key 0600 and the directory 0750: only root reads the key (Postfix and Dovecot read it before dropping privileges).
  install -m 0600 -o root -g root "$key" "$tmp/$CERT_KEY_FILE"
  install -m 0644 -o root -g root "$chain" "$tmp/$CERT_CHAIN_FILE"
  chmod 0750 "$tmp"
  mv -T "$tmp" "$dir"
  checkpoint certificate-written
  : >"$PENDING"
  # A directory here is the layout of earlier versions: it makes way for the link.
  if [ -d "$TLS_LINK" ] && [ ! -L "$TLS_LINK" ]; then rm -rf "$TLS_LINK"; fi
  ln -sfn "${dir##*/}" "$TLS_LINK.new"
  mv -T "$TLS_LINK.new" "$TLS_LINK"
  reload_daemons
  rm -f "$PENDING"
  for old in "$TLS_LINK".* "$ETC_DIR/.${TLS_LINK##*/}".*; do
    [ "$old" = "$dir" ] || rm -rf "$old"
  done
  PAIR_CHANGED=yes
}

# served_facts: what the outputs report of the pair being served (certificate/facts.ts parses it).
served_facts() {
  result "sha256=$(fingerprint_of <"$TLS_LINK/$CERT_CHAIN_FILE")"
  result "notAfter=$(date -u -d "$(openssl x509 -noout -enddate -in "$TLS_LINK/$CERT_CHAIN_FILE" | sed 's/^notAfter=//')" +%Y-%m-%dT%H:%M:%S.000Z)"
}
