# shellcheck shell=bash
# acme mode, on the step's side: the host obtains its certificate from an ACME CA with lego, and renews it itself
# (a daily timer running acme-renew). The step runs the first issuance itself, with the new settings staged in
# its scratch directory: if the CA does not issue, nothing is installed and the current pair stays served.
# Sections: acme-args (lego's options, one per line), acme-env (NAME=value, secrets), acme-ca (PEM, may be empty),
# acme-port (the port the challenge opens, may be empty), acme-days, acme-names (the names the certificate must
# cover), acme-renew (the renewal program), acme-service, acme-timer, install (certificate-install).

# The settings an issued certificate was made for: a change of server, names or key asks for a new one.
acme_wanted() { section acme-args | awk 'skip { skip = 0; next } $0 == "--email" { skip = 1; next } 1' | sha256sum | cut -d' ' -f1; }

# The lego certificate, if it is for the settings wanted and not expired.
acme_current() {
  local crt
  crt=$ACME_DIR/certificates/$(section acme-names | head -n 1).crt
  [ -f "$crt" ] && [ -f "$STATE_DIR/certificate/acme-settings" ] &&
    [ "$(cat "$STATE_DIR/certificate/acme-settings")" = "$(acme_wanted)" ] &&
    openssl x509 -noout -checkend 0 -in "$crt" >/dev/null 2>&1
}

acme_stage() {
  local dir=$1
  install -d -m 0700 "$dir"
  section acme-args >"$dir/args"
  (umask 077 && section acme-env >"$dir/env")
  section acme-ca >"$dir/ca.pem"
  section acme-port >"$dir/port"
  section acme-days >"$dir/days"
  section acme-names >"$dir/names"
  section acme-renew >"$dir/renew" && chmod 0700 "$dir/renew"
}

acme_apply() {
  local staged=$SCRATCH/acme name crt out
  command -v lego >/dev/null || die "lego is not installed; nothing was changed; the packages step installs it in acme mode: run pulumi up again"
  acme_stage "$staged"
  name=$(head -n 1 "$staged/names")
  crt=$ACME_DIR/certificates/$name.crt
  if ! acme_current; then
    install -d -m 0700 "$ACME_DIR"
    out=$("$staged/renew" run "$staged" 2>&1) ||
      die "the ACME CA did not issue a certificate for $name; the current certificate stays served and nothing was changed; check certificate.server, the challenge (port reachable, DNS) and the CA's words below" "$out"
    mkdir -p "$STATE_DIR/certificate"
    acme_wanted >"$STATE_DIR/certificate/acme-settings"
    note "certificate issued by $(section acme-args | awk 'prev == "--server" { print; exit } { prev = $0 }')"
  fi
  apply_pair "$crt" "${crt%.crt}.key" "the ACME client's files in $ACME_DIR/certificates are not a matching pair: run pulumi up again" acme
  # The settings and the renewal go in place only now that they have worked once.
  put_installer
  install -d -m 0700 "$ACME_CONFIG_DIR"
  local f
  for f in args env ca.pem port days names; do put_file 0600 root:root "$ACME_CONFIG_DIR/$f" <"$staged/$f"; done
  install -d -m 0755 "${ACME_RENEW%/*}"
  put_file 0755 root:root "$ACME_RENEW" <"$staged/renew"
  CHANGED=no
  put_file 0644 root:root "$ACME_SERVICE" < <(section acme-service)
  put_file 0644 root:root "$ACME_TIMER" < <(section acme-timer)
  [ "$CHANGED" = no ] || systemctl daemon-reload
  systemctl enable --now --quiet "$ACME_UNIT_NAME.timer"
  note "renewal: $ACME_UNIT_NAME.timer, daily, when less than $(cat "$staged/days") days are left"
}

# Everything acme mode put on the host: the timer, the client's settings, its account, keys and certificates.
acme_remove() {
  systemctl disable --now --quiet "$ACME_UNIT_NAME.timer" 2>/dev/null || true
  systemctl stop "$ACME_UNIT_NAME.service" 2>/dev/null || true
  systemctl reset-failed "$ACME_UNIT_NAME.service" 2>/dev/null || true
  rm -f "$ACME_SERVICE" "$ACME_TIMER" "$ACME_RENEW" "$STATE_DIR/certificate/acme-settings"
  rm -rf "$ACME_CONFIG_DIR" "$ACME_DIR"
}
