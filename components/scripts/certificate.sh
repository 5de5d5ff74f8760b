# Puts the TLS certificate chain and key in place (key 0600 root, each written atomically), and reloads Postfix
# and Dovecot when they changed, so that a rotated certificate is actually served. A chain whose first certificate
# does not match the key is refused before anything is written.
# Sections: chain (PEM, leaf first), key (PEM).

TLS_DIR=/etc/mail-submission/tls
CERT_CHAIN=$TLS_DIR/fullchain.pem
CERT_KEY=$TLS_DIR/privkey.pem

pubkey_digest() { "$@" 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1; }

apply() {
  section chain >"$SCRATCH/chain.pem"
  section key >"$SCRATCH/key.pem"
  openssl x509 -noout -in "$SCRATCH/chain.pem" 2>/dev/null ||
    die "the certificate chain is not a PEM certificate; nothing was changed; check certificate.chainPem/chainFile"
  openssl pkey -noout -in "$SCRATCH/key.pem" 2>/dev/null ||
    die "the private key is not a PEM key; nothing was changed; check certificate.keyPem/keyFile"
  [ "$(pubkey_digest openssl x509 -pubkey -noout -in "$SCRATCH/chain.pem")" = \
    "$(pubkey_digest openssl pkey -pubout -in "$SCRATCH/key.pem")" ] ||
    die "the private key does not belong to the first certificate of the chain; nothing was changed; give the matching key"

  install -d -m 0755 -o root -g root "${TLS_DIR%/*}"
  install -d -m 0750 -o root -g root "$TLS_DIR"
  checkpoint certificate-checked
  # Key first: a chain whose key is not yet there would make a reload fail.
  put_file 0600 root:root "$CERT_KEY" <"$SCRATCH/key.pem"
  put_file 0644 root:root "$CERT_CHAIN" <"$SCRATCH/chain.pem"
  if [ "$CHANGED" = no ]; then note "certificate unchanged"; return 0; fi
  # Daemons that already use the files pick the new ones up on reload; new smtpd/login processes read them.
  if command -v postfix >/dev/null && postfix status >/dev/null 2>&1; then postfix reload; fi
  if service_active dovecot; then systemctl reload dovecot; fi
  note "certificate installed"
}

remove() {
  rm -rf "$TLS_DIR"
  rmdir "${TLS_DIR%/*}" 2>/dev/null || true
  note "certificate removed"
}
