# The last step on each host: looks at the services from the host itself, as a mail client would, and fails the
# `pulumi up` if any is wrong. It also proves that the certificate being served is the one just deployed.
# Sections: hostname, ports (enabled ports), fingerprint (SHA-256 of the leaf certificate, lower-case hex).

fail() { log "FAILED: $*"; FAILED=yes; }

check_465() {
  local fp
  fp=$(probe_tls 465 "$HOSTNAME_")
  [ -n "$fp" ] || { fail "465: no TLS handshake (implicit TLS expected)"; return; }
  [ "$fp" = "$WANT_FP" ] || fail "465: serves certificate $fp, expected $WANT_FP"
  smtp_ehlo_tls 465 "$HOSTNAME_" | grep -q '^250[- ]AUTH ' || fail "465: no AUTH offered inside TLS"
  echo "ok 465 implicit TLS, certificate $fp, AUTH offered"
}

check_587() {
  local plain fp
  plain=$(smtp_ehlo_plain 587) || { fail "587: no SMTP greeting"; return; }
  printf '%s\n' "$plain" | grep -q '^250[- ]STARTTLS' || fail "587: STARTTLS not offered"
  if printf '%s\n' "$plain" | grep -q '^250[- ]AUTH'; then fail "587: AUTH offered before STARTTLS"; fi
  fp=$(probe_tls 587 "$HOSTNAME_" starttls)
  [ "$fp" = "$WANT_FP" ] || fail "587: serves certificate '${fp}', expected $WANT_FP"
  smtp_ehlo_tls 587 "$HOSTNAME_" starttls | grep -q '^250[- ]AUTH ' || fail "587: no AUTH offered after STARTTLS"
  echo "ok 587 STARTTLS offered, no AUTH before it, AUTH after it"
}

check_993() {
  local fp
  fp=$(probe_tls 993 "$HOSTNAME_")
  [ "$fp" = "$WANT_FP" ] || { fail "993: serves certificate '${fp}', expected $WANT_FP"; return; }
  echo "ok 993 implicit TLS"
}

apply() {
  read_bundle
  FAILED=no
  HOSTNAME_=$(section hostname)
  WANT_FP=$(section fingerprint)
  local port
  for port in $(section ports); do "check_$port"; done
  [ "$FAILED" = no ] || die "the submission endpoint does not behave as configured (see above)"
}

case "${1:-apply}" in
  apply) apply ;;
  *) die "unknown action $1" ;;
esac
