# DKIM signing of what our submission services accept, by opendkim instances of our own, one per algorithm
# (opendkim signs with one algorithm per process): each with its own configuration, tables, key and socket in
# Postfix's queue, run by our template unit. A host's own opendkim (opendkim.service, /etc/opendkim.conf) is never
# read or changed. The new files are checked with `opendkim -n` before any instance reloads; a rejected candidate,
# or an instance that does not open its socket, puts the previous files back, so the signer keeps signing.
# Sections: layout (`ALG UNIT CONF KEYTABLE SIGNINGTABLE KEYFILE SOCKET` per signing algorithm; none: DKIM is off),
# conf.ALG, keytable.ALG, signingtable.ALG, key.ALG (PEM), unit.

STATE=$STATE_DIR/dkim
# The layout of the last apply: which instances and files are ours, also once the bundle no longer names them.
RECORDED=$STATE/layout
# Present from the first file written until the instances have reloaded: a step stopped in between is finished.
PENDING=$STATE_DIR/dkim.reload-pending

# Whether the live files, units and sockets are exactly what the bundle asks for.
unchanged() {
  local alg unit conf keytable signingtable keyfile socket
  [ ! -e "$PENDING" ] && cmp -s <(section unit) "$OPENDKIM_UNIT" && cmp -s <(section layout) "$RECORDED" || return 1
  while read -r alg unit conf keytable signingtable keyfile socket; do
    cmp -s <(section "conf.$alg") "$conf" && cmp -s <(section "keytable.$alg") "$keytable" &&
      cmp -s <(section "signingtable.$alg") "$signingtable" && cmp -s <(section "key.$alg") "$keyfile" &&
      service_active "$unit" && [ -S "$socket" ] || return 1
  done < <(section layout)
}

# Puts the files of before this run back and restarts the instances that were there, so that they sign as before.
restore() {
  local alg unit rest
  put_back "$OPENDKIM_DIR" "$OPENDKIM_UNIT"
  systemctl daemon-reload
  [ -f "$RECORDED" ] || return 0
  while read -r alg unit rest; do systemctl restart "$unit" || true; done <"$RECORDED"
}

write_files() {
  local alg unit conf keytable signingtable keyfile socket
  install -d -m 0755 -o root -g root "$OPENDKIM_DIR"
  # opendkim refuses keys that others can read (RequireSafeKeys); the directory keeps them from view as well.
  install -d -m 0700 -o opendkim -g opendkim "$OPENDKIM_KEY_DIR"
  install -d -m 0750 -o opendkim -g postfix "$OPENDKIM_SOCKET_DIR"
  while read -r alg unit conf keytable signingtable keyfile socket; do
    section "conf.$alg" | put_file 0644 root:root "$conf"
    section "keytable.$alg" | put_file 0644 root:root "$keytable"
    section "signingtable.$alg" | put_file 0644 root:root "$signingtable"
    section "key.$alg" | put_file 0600 opendkim:opendkim "$keyfile"
  done < <(section layout)
  section unit | put_file 0644 root:root "$OPENDKIM_UNIT"
}

# Keys and instances that the last layout had and this one does not (a new selector, Ed25519 switched off).
drop_stale() {
  local alg unit conf keytable signingtable keyfile socket
  [ -f "$RECORDED" ] || return 0
  while read -r alg unit conf keytable signingtable keyfile socket; do
    grep -qxF "$alg $unit $conf $keytable $signingtable $keyfile $socket" <(section layout) && continue
    if ! grep -q "^$alg " <(section layout); then
      systemctl disable --now --quiet "$unit" 2>/dev/null || true
      rm -f "$conf" "$keytable" "$signingtable" "$socket"
    fi
    grep -q " $keyfile " <(section layout) || rm -f "$keyfile"
  done <"$RECORDED"
}

apply() {
  local alg unit conf keytable signingtable keyfile socket err
  if [ -z "$(section layout)" ]; then
    if [ -f "$RECORDED" ]; then remove; else note "DKIM signing is off"; fi
    return 0
  fi
  command -v opendkim >/dev/null || die "opendkim is not installed; the packages step installs it when dkim is on"
  if unchanged; then note "DKIM signer unchanged"; return 0; fi
  while read -r alg unit conf keytable signingtable keyfile socket; do
    section "key.$alg" | openssl pkey -noout 2>/dev/null || die "the $alg DKIM key is not a PEM private key; nothing was changed"
  done < <(section layout)
  keep "$OPENDKIM_DIR" "$OPENDKIM_UNIT"
  mkdir -p "$STATE"
  : >"$PENDING"
  write_files
  while read -r alg unit conf keytable signingtable keyfile socket; do
    if ! err=$(opendkim -n -x "$conf" 2>&1); then
      restore
      die "opendkim rejected the new $alg configuration; the previous configuration is back in place" "$err"
    fi
  done < <(section layout)
  checkpoint dkim-written
  systemctl daemon-reload
  while read -r alg unit conf keytable signingtable keyfile socket; do
    enable_service "$unit"
    # SIGUSR1 makes a running opendkim re-read its configuration and tables without dropping a connection.
    if service_active "$unit" && cmp -s "$OPENDKIM_UNIT" "$(kept "$OPENDKIM_UNIT")"; then systemctl reload "$unit"; else systemctl restart "$unit"; fi
    if ! wait_for_socket "$socket"; then
      restore
      die "opendkim ($unit) did not open its socket $socket; the previous configuration is back in place; see journalctl -u $unit" \
        "$(journalctl -u "$unit" -n 10 --no-pager -o cat 2>/dev/null || true)"
    fi
  done < <(section layout)
  drop_stale
  section layout >"$RECORDED"
  rm -f "$PENDING"
  note "DKIM signer configured ($(section layout | cut -d' ' -f1 | paste -sd' ')), validated with opendkim -n before the reload"
}

remove() {
  local alg unit rest
  if [ -f "$RECORDED" ]; then
    while read -r alg unit rest; do systemctl disable --now --quiet "$unit" 2>/dev/null || true; done <"$RECORDED"
  fi
  if [ -f "$OPENDKIM_UNIT" ]; then
    rm -f "$OPENDKIM_UNIT"
    systemctl daemon-reload
  fi
  rm -rf "$OPENDKIM_DIR" "$OPENDKIM_SOCKET_DIR" "$STATE"
  rm -f "$PENDING"
  # $ETC_DIR is shared with the other steps: whichever is removed last takes it.
  rmdir "$ETC_DIR" 2>/dev/null || true
  tidy_state
  note "DKIM signer removed"
}
