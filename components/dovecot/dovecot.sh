# Dovecot as Postfix's SASL server: one conf.d drop-in in the syntax of the installed version, the passwd-file of
# hashed passwords, and (passwd-file backend) the system passdb switched off so that system accounts cannot log in.
# Validate before going live: the whole configuration is first assembled in a candidate copy of /etc/dovecot and
# checked with `doveconf -c`; only then do the files change and Dovecot reload. A rejected candidate changes nothing.
# Sections: conf-2.3, conf-2.4, passwd, backend (passwd-file | system).

DROP_IN=$DOVECOT_DROP_IN
PASSWD=$DOVECOT_PASSWD
AUTH_CONF=$DOVECOT_AUTH_CONF
SOCKET=$SASL_SOCKET
# The system passdb/userdb come from this include in Debian's 10-auth.conf (2.3 and 2.4 alike).
SYSTEM_INCLUDE='!include auth-system\.conf\.ext'
MARK='#mail-submission# '
# Present from the first file written until Dovecot has reloaded: a step stopped in between is finished next time.
PENDING=$STATE_DIR/dovecot.reload-pending

# auth_conf_wanted BACKEND < 10-auth.conf: the file as this backend wants it. Our edit is one marker in front of
# the include line, so that `remove` gives the file back byte for byte.
auth_conf_wanted() {
  if [ "$1" = passwd-file ]; then sed "s/^\\($SYSTEM_INCLUDE.*\\)\$/$MARK\\1/"; else sed "s/^$MARK//"; fi
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

# install_file MODE OWNER:GROUP SOURCE DEST: put_file from a file, recording what DEST was before (for rollback).
install_file() {
  [ -e "$4" ] && cp -a "$4" "$SCRATCH/before.${4//\//_}"
  put_file "$1" "$2" "$4" <"$3"
}
restore_files() {
  local f
  for f in "$DROP_IN" "$PASSWD" "$AUTH_CONF"; do
    if [ -e "$SCRATCH/before.${f//\//_}" ]; then cp -a "$SCRATCH/before.${f//\//_}" "$f"; else rm -f "$f"; fi
  done
}

apply() {
  local syntax backend candidate err drop_in auth_conf
  syntax=$(dovecot_syntax)
  backend=$(section backend)
  has_section "conf-$syntax" || die "no configuration was rendered for Dovecot $syntax; nothing was changed"
  candidate=$SCRATCH/candidate
  cp -a "$DOVECOT_DIR" "$candidate"
  # The candidate's copies of the files we write, at the same places relative to the configuration directory.
  drop_in=$candidate/${DROP_IN#"$DOVECOT_DIR/"}
  auth_conf=$candidate/${AUTH_CONF#"$DOVECOT_DIR/"}
  section "conf-$syntax" >"$drop_in"
  if [ -f "$AUTH_CONF" ]; then auth_conf_wanted "$backend" <"$AUTH_CONF" >"$auth_conf"; fi
  section passwd >"$SCRATCH/passwd"

  if cmp -s "$drop_in" "$DROP_IN" && { [ ! -f "$AUTH_CONF" ] || cmp -s "$auth_conf" "$AUTH_CONF"; } &&
    { [ "$backend" != passwd-file ] || cmp -s "$SCRATCH/passwd" "$PASSWD"; } && service_active dovecot && [ -S "$SOCKET" ] && [ ! -e "$PENDING" ]; then
    note "Dovecot configuration unchanged"
    return 0
  fi
  # The candidate is read from its own directory (its !include lines are relative to it).
  if ! err=$(doveconf -c "$candidate/${DOVECOT_CONF#"$DOVECOT_DIR/"}" -n 2>&1 >/dev/null); then
    die "doveconf rejected the new configuration; the live configuration was not changed; fix the setting it names and run pulumi up again" \
      "${err//$candidate/$DOVECOT_DIR}"
  fi
  checkpoint dovecot-validated

  mkdir -p "$STATE_DIR"
  : >"$PENDING"
  install_file 0644 root:root "$drop_in" "$DROP_IN"
  if [ -f "$AUTH_CONF" ]; then install_file 0644 root:root "$auth_conf" "$AUTH_CONF"; fi
  if [ "$backend" = passwd-file ]; then
    # Readable by Dovecot's auth processes only; it holds hashes, never passwords.
    install_file 0640 root:dovecot "$SCRATCH/passwd" "$PASSWD"
  elif [ -e "$PASSWD" ]; then
    cp -a "$PASSWD" "$SCRATCH/before.${PASSWD//\//_}"
    rm -f "$PASSWD"
  fi
  checkpoint dovecot-written
  reload_dovecot
  if ! wait_for_socket; then
    restore_files
    reload_dovecot || true
    die "Dovecot did not open its SASL socket $SOCKET after the reload; the previous configuration is back in place; see journalctl -u dovecot" \
      "$(journalctl -u dovecot -n 10 --no-pager -o cat 2>/dev/null || true)"
  fi
  rm -f "$PENDING"
  note "Dovecot $syntax configured ($backend), validated with doveconf before the reload"
}

remove() {
  rm -f "$DROP_IN" "$PASSWD" "$PENDING"
  if [ -f "$AUTH_CONF" ] && grep -q "^$MARK" "$AUTH_CONF"; then
    auth_conf_wanted system <"$AUTH_CONF" >"$SCRATCH/auth.conf"
    put_file "$(stat -c '%a' "$AUTH_CONF")" "$(stat -c '%U:%G' "$AUTH_CONF")" "$AUTH_CONF" <"$SCRATCH/auth.conf"
  fi
  if service_active dovecot; then reload_dovecot; fi
  tidy_state
  note "Dovecot drop-in removed"
}
