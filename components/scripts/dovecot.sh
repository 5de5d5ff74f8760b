# Dovecot as Postfix's SASL server: one conf.d drop-in in the syntax of the installed version, the passwd-file of
# hashed passwords, and (passwd-file backend) the system passdb switched off so that system accounts cannot log in.
# `doveconf -n` validates before the reload; on failure the previous files come back and the step fails.
# Sections: conf-2.3, conf-2.4, passwd, backend (passwd-file | system).

DROP_IN=/etc/dovecot/conf.d/99-mail-submission.conf
PASSWD=/etc/dovecot/mail-submission.passwd
AUTH_CONF=/etc/dovecot/conf.d/10-auth.conf
SOCKET=/var/spool/postfix/private/auth
# The system passdb/userdb come from this include in Debian's 10-auth.conf (2.3 and 2.4 alike).
SYSTEM_INCLUDE='!include auth-system\.conf\.ext'
MARK='#mail-submission# '

dovecot_syntax() {
  local v
  v=$(dovecot --version 2>/dev/null) || die "dovecot is not installed"
  case "$v" in
    2.3.*) echo 2.3 ;;
    2.4.* | 2.5.*) echo 2.4 ;;
    *) die "unsupported Dovecot version $v (2.3 and 2.4 are supported)" ;;
  esac
}

disable_system_auth() {
  [ -f "$AUTH_CONF" ] || return 0
  grep -q "^$SYSTEM_INCLUDE" "$AUTH_CONF" || return 0
  sed -i "s/^\\($SYSTEM_INCLUDE.*\\)\$/$MARK\\1/" "$AUTH_CONF"
  CHANGED=yes
}

# Undoes exactly our edit, so the file is byte for byte what it was.
enable_system_auth() {
  [ -f "$AUTH_CONF" ] || return 0
  grep -q "^$MARK" "$AUTH_CONF" || return 0
  sed -i "s/^$MARK//" "$AUTH_CONF"
  CHANGED=yes
}

reload_dovecot() {
  systemctl enable --quiet dovecot 2>/dev/null || true
  if service_active dovecot; then systemctl reload dovecot; else systemctl restart dovecot; fi
}

wait_for_socket() {
  local tries=50
  while [ "$tries" -gt 0 ]; do
    [ -S "$SOCKET" ] && return 0
    sleep 0.2
    tries=$((tries - 1))
  done
  return 1
}

apply() {
  read_bundle
  local syntax backend
  syntax=$(dovecot_syntax)
  backend=$(section backend)
  has_section "conf-$syntax" || die "no configuration rendered for Dovecot $syntax"
  snapshot "$DROP_IN" "$PASSWD" "$AUTH_CONF"

  put_file 0644 root:root "$DROP_IN" < <(section "conf-$syntax")
  if [ "$backend" = passwd-file ]; then
    # Readable by Dovecot's auth processes only; it holds hashes, never passwords.
    put_file 0640 root:dovecot "$PASSWD" < <(section passwd)
    disable_system_auth
  else
    if [ -e "$PASSWD" ]; then rm -f "$PASSWD"; CHANGED=yes; fi
    enable_system_auth
  fi
  if [ "$CHANGED" = no ] && service_active dovecot && [ -S "$SOCKET" ]; then
    log "Dovecot configuration unchanged"
    return 0
  fi

  local err
  if ! err=$(doveconf -n 2>&1 >/dev/null); then
    restore_snapshot "$DROP_IN" "$PASSWD" "$AUTH_CONF"
    die "doveconf rejected the new configuration; the previous one is back in place: $err"
  fi
  reload_dovecot
  if ! wait_for_socket; then
    restore_snapshot "$DROP_IN" "$PASSWD" "$AUTH_CONF"
    reload_dovecot || true
    die "Dovecot did not open $SOCKET; the previous configuration is back in place"
  fi
  log "Dovecot $syntax configured ($backend)"
}

remove() {
  rm -f "$DROP_IN" "$PASSWD"
  enable_system_auth
  if service_active dovecot; then systemctl reload dovecot; fi
  log "Dovecot drop-in removed"
}

case "${1:-apply}" in
  apply) apply ;;
  remove) remove ;;
  *) die "unknown action $1" ;;
esac
