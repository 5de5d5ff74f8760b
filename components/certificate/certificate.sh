# Puts the TLS certificate chain and key in place and reloads Postfix and Dovecot when they changed, so that a
# rotated certificate is actually served. A chain whose first certificate does not match the key is refused before
# anything is written.
# Chain and key always change together: each pair lives in a directory of its own, and the path the daemons read
# ($TLS_LINK) is a symbolic link switched with one rename. Whenever the step stops, the
# daemons find either the old pair or the new one, never a new key with an old chain.
# Sections: chain (PEM, leaf first), key (PEM).

BASE=$ETC_DIR
PENDING=$STATE_DIR/certificate.reload-pending

pubkey_digest() { "$@" 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1; }

reload_daemons() {
  # Daemons that already use the files pick the new ones up on reload; new smtpd/login processes read them.
  # Dovecot first: reloading it reloads Postfix after it, so no smtpd process stays with the old auth process.
  if service_active "$DOVECOT_UNIT_NAME"; then reload_dovecot no; else release_auth_clients; fi
}

apply() {
  local dir tmp old
  section chain >"$SCRATCH/chain.pem"
  section key >"$SCRATCH/key.pem"
  openssl x509 -noout -in "$SCRATCH/chain.pem" 2>/dev/null ||
    die "the certificate chain is not a PEM certificate; nothing was changed; check certificate.chainPem/chainFile"
  openssl pkey -noout -in "$SCRATCH/key.pem" 2>/dev/null ||
    die "the private key is not a PEM key; nothing was changed; check certificate.keyPem/keyFile"
  [ "$(pubkey_digest openssl x509 -pubkey -noout -in "$SCRATCH/chain.pem")" = \
    "$(pubkey_digest openssl pkey -pubout -in "$SCRATCH/key.pem")" ] ||
    die "the private key does not belong to the first certificate of the chain; nothing was changed; give the matching key"
  checkpoint certificate-checked

  if [ -L "$TLS_LINK" ] && [ ! -e "$PENDING" ] &&
    cmp -s "$TLS_LINK/$CERT_CHAIN_FILE" "$SCRATCH/chain.pem" && cmp -s "$TLS_LINK/$CERT_KEY_FILE" "$SCRATCH/key.pem"; then
    note "certificate unchanged"
    return 0
  fi
  install -d -m 0755 -o root -g root "$BASE"
  mkdir -p "$STATE_DIR"
  # A new directory every time: the one the link names may have been edited by hand, and stays whole until the switch.
  dir=$TLS_LINK.$(date +%s%N)
  tmp=$(mktemp -d "$BASE/.${TLS_LINK##*/}.XXXXXX")
  # Key 0600 and the directory 0750: only root reads the key (Postfix and Dovecot read it before dropping privileges).
  install -m 0600 -o root -g root "$SCRATCH/key.pem" "$tmp/$CERT_KEY_FILE"
  install -m 0644 -o root -g root "$SCRATCH/chain.pem" "$tmp/$CERT_CHAIN_FILE"
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
  for old in "$TLS_LINK".* "$BASE/.${TLS_LINK##*/}".*; do
    [ "$old" = "$dir" ] || rm -rf "$old"
  done
  note "certificate installed"
}

remove() {
  rm -rf "$TLS_LINK" "$TLS_LINK".* "$BASE/.${TLS_LINK##*/}".* "$PENDING"
  # $ETC_DIR is shared with the firewall step: whichever is removed last takes it.
  rmdir "$BASE" 2>/dev/null || true
  tidy_state
  note "certificate removed"
}
