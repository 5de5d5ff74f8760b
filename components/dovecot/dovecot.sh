# Dovecot as Postfix's SASL server (and IMAPS when asked), as an instance of our own: its dovecot.conf, passwd-file
# and systemd unit are ours alone, its sockets and state sit apart from the host's. The host's Dovecot, if any, is
# never read, edited or reloaded, so its users, protocols and listeners keep working as before (README, "The
# operator's Dovecot"). Validate before going live: the new configuration is checked with `doveconf -c` first; only
# then do the files change and the instance reload. A rejected candidate changes nothing.
# Sections: conf-2.3, conf-2.4, unit, ports (`PORT SERVICE` for each inet port the instance binds), passwd, backend
# (passwd-file | system).

SOCKET=$SASL_SOCKET
UNIT=$DOVECOT_UNIT_NAME
# Present from the first file written until the instance has reloaded: a step stopped in between is finished next time.
PENDING=$STATE_DIR/dovecot.reload-pending

# ports_held_by_others: `PORT SERVICE COMMAND` for each wanted port that a process outside our unit listens on. Such a
# listener is the operator's (their Dovecot's 993, say), and we never close or change a listener we did not open.
ports_held_by_others() {
  local port service pid listeners
  while read -r port service; do
    listeners=$(ss -Hltnp "sport = :$port" 2>/dev/null) || continue
    while read -r pid; do
      grep -q "/$UNIT\.service" "$PROC_DIR/$pid/cgroup" 2>/dev/null && continue
      printf '%s %s %s\n' "$port" "$service" "$(cat "$PROC_DIR/$pid/comm" 2>/dev/null || echo "pid $pid")"
      break
    done < <(grep -o 'pid=[0-9]*' <<<"$listeners" | cut -d= -f2 | sort -u)
  done < <(section ports)
}

# install_file MODE OWNER:GROUP SOURCE DEST: put_file from a file, recording what DEST was before (for rollback).
install_file() {
  keep "$4"
  put_file "$1" "$2" "$4" <"$3"
}
restore_files() {
  put_back "$DOVECOT_CONF" "$DOVECOT_PASSWD" "$DOVECOT_UNIT"
  systemctl daemon-reload
}

apply() {
  local syntax backend c err port service program unit_changed=no
  syntax=$(dovecot_syntax)
  backend=$(section backend)
  has_section "conf-$syntax" || die "no configuration was rendered for Dovecot $syntax; nothing was changed"
  c=$SCRATCH/candidate
  mkdir -p "$c"
  section "conf-$syntax" >"$c/dovecot.conf"
  section unit >"$c/unit"
  section passwd >"$c/users"

  if cmp -s "$c/dovecot.conf" "$DOVECOT_CONF" && cmp -s "$c/unit" "$DOVECOT_UNIT" && cmp -s "$c/users" "$DOVECOT_PASSWD" &&
    service_active "$UNIT" && [ -S "$SOCKET" ] && [ ! -e "$PENDING" ]; then
    note "Dovecot configuration unchanged"
    return 0
  fi
  if read -r port service program < <(ports_held_by_others); then
    die "port $port ($program) is already served by another program on this host (the host's own Dovecot?); mail-submission never closes or changes a listener it did not open, and nothing was changed; either serve $service from that program and set services.$service to false, or free the port there (Dovecot: inet_listener $service { port = 0 }) and run pulumi up again"
  fi
  if ! err=$(doveconf -c "$c/dovecot.conf" -n 2>&1 >/dev/null); then
    die "doveconf rejected the new configuration; the live configuration was not changed; fix the setting it names and run pulumi up again" \
      "${err//$c\//$DOVECOT_INSTANCE_DIR/}"
  fi
  checkpoint dovecot-validated

  mkdir -p "$STATE_DIR"
  : >"$PENDING"
  install -d -m 0755 -o root -g root "$DOVECOT_INSTANCE_DIR"
  cmp -s "$c/unit" "$DOVECOT_UNIT" || unit_changed=yes
  install_file 0644 root:root "$c/dovecot.conf" "$DOVECOT_CONF"
  # Readable by Dovecot's auth processes only; it holds hashes, never passwords. Empty with the system backend.
  install_file 0640 root:dovecot "$c/users" "$DOVECOT_PASSWD"
  install_file 0644 root:root "$c/unit" "$DOVECOT_UNIT"
  checkpoint dovecot-written
  if [ "$unit_changed" = yes ]; then systemctl daemon-reload; fi
  reload_dovecot "$unit_changed"
  if ! wait_for_socket "$SOCKET"; then
    restore_files
    reload_dovecot yes || true
    die "Dovecot did not open its SASL socket $SOCKET after the reload; the previous configuration is back in place; see journalctl -u $UNIT" \
      "$(journalctl -u "$UNIT" -n 10 --no-pager -o cat 2>/dev/null || true)"
  fi
  rm -f "$PENDING"
  note "Dovecot $syntax instance $UNIT configured ($backend), validated with doveconf before the reload"
}

remove() {
  if [ -f "$DOVECOT_UNIT" ]; then
    systemctl disable --now --quiet "$UNIT" 2>/dev/null || true
    rm -f "$DOVECOT_UNIT"
    systemctl daemon-reload
  fi
  # Dovecot leaves its socket behind when it stops; it is ours, in Postfix's queue directory.
  if [ -S "$SOCKET" ]; then rm -f "$SOCKET"; fi
  rm -rf "$DOVECOT_INSTANCE_DIR" "$DOVECOT_STATE_DIR" "$DOVECOT_BASE_DIR"
  rm -f "$PENDING"
  # $ETC_DIR is shared with the certificate and firewall steps: whichever is removed last takes it.
  rmdir "$ETC_DIR" 2>/dev/null || true
  tidy_state
  note "Dovecot instance $UNIT removed"
}
