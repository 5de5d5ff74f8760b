# The certificate step: serves the pair the stack made or was given (selfSigned, ca, provided), or has the host
# obtain and renew one itself (acme, certificate/acme.sh), or serves the host's own files and follows their
# renewals (host). Postfix and Dovecot are reloaded when the pair changed, so that a rotated certificate is served.
# A pair whose first certificate does not match the key is refused before anything is written.
# Sections: mode (pulumi|acme|host); pulumi: chain (PEM, leaf first), key (PEM); acme: see acme.sh; host: chain-path,
# key-path, watch-path, watch-service (the path unit), install (certificate-install).

apply_pair() {
  local problem
  problem=$(pair_problem "$1" "$2")
  [ -z "$problem" ] || die "$problem; nothing was changed; ${3}"
  checkpoint certificate-checked
  install_pair "$1" "$2" "$4"
  if [ "$PAIR_CHANGED" = yes ]; then note "certificate installed"; else note "certificate unchanged"; fi
}

# The installed certificate-install: what the acme timer and the host mode's path unit run on the host.
put_installer() {
  install -d -m 0755 "${CERT_INSTALL%/*}"
  put_file 0755 root:root "$CERT_INSTALL" < <(section install)
}

host_apply() {
  local chain key
  chain=$(section chain-path) key=$(section key-path)
  if [ ! -r "$chain" ] || [ ! -r "$key" ]; then
    die "certificate.chainPath $chain or keyPath $key is not a readable file on the host; nothing was changed; point them at the host's certificate files"
  fi
  apply_pair "$chain" "$key" "check certificate.chainPath and keyPath (leaf first, and its key)" host
  put_installer
  CHANGED=no
  put_file 0644 root:root "$CERT_WATCH_PATH" < <(section watch-path)
  put_file 0644 root:root "$CERT_WATCH_SERVICE" < <(section watch-service)
  [ "$CHANGED" = no ] || systemctl daemon-reload
  systemctl enable --now --quiet "$CERT_WATCH_UNIT_NAME.path"
  note "following $chain: every change is installed by $CERT_WATCH_UNIT_NAME.path"
}

# Takes away what the other modes installed (an earlier config's), keeping the served pair.
leave_mode() {
  [ "$1" = acme ] || acme_remove
  if [ "$1" != host ]; then
    systemctl disable --now --quiet "$CERT_WATCH_UNIT_NAME.path" 2>/dev/null || true
    rm -f "$CERT_WATCH_PATH" "$CERT_WATCH_SERVICE"
  fi
  [ "$1" != pulumi ] || rm -f "$CERT_INSTALL"
  systemctl daemon-reload
}

apply() {
  local mode
  mode=$(section mode)
  mkdir -p "$STATE_DIR"
  case "$mode" in
    pulumi)
      section chain >"$SCRATCH/chain.pem"
      section key >"$SCRATCH/key.pem"
      apply_pair "$SCRATCH/chain.pem" "$SCRATCH/key.pem" "check certificate.chainPem/chainFile and keyPem/keyFile" pulumi
      ;;
    acme) acme_apply ;;
    host) host_apply ;;
    *) die "unknown certificate mode '$mode'" ;;
  esac
  leave_mode "$mode"
  served_facts
}

remove() {
  leave_mode none
  rm -f "$CERT_INSTALL"
  rmdir "${CERT_INSTALL%/*}" 2>/dev/null || true
  rm -rf "$TLS_LINK" "$TLS_LINK".* "$ETC_DIR/.${TLS_LINK##*/}".* "$PENDING" "$CERT_SOURCE_FILE"
  # $ETC_DIR is shared with the firewall step: whichever is removed last takes it.
  rmdir "$ETC_DIR" 2>/dev/null || true
  tidy_state
  note "certificate removed"
}
