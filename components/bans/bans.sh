# Bans of password guessers by a fail2ban instance of our own (its configuration directory, socket and database),
# run by our unit; a host's own fail2ban is never read or changed. The ban action is the one for the firewall backend
# the firewall step chose and recorded. A new configuration is tested by fail2ban before the instance takes it; one
# that does not start its jail puts the previous files back. Destroy stops the jail, which lifts every ban.
# Sections: enabled (empty: bans are off), firewall (the configured backend; the recorded one is used), conf, jail,
# filter, nft-table, unit, action.BACKEND (nftables, ufw, firewalld).

STATE=$STATE_DIR/bans
# The backend the action was written for.
RECORDED=$STATE/backend
# Present from the first file written until the jail runs on them: a step stopped in between is finished.
PENDING=$STATE_DIR/bans.reload-pending

fail2ban() { "$FAIL2BAN_CLIENT" -c "$FAIL2BAN_DIR" "$@"; }

# The files as the bundle has them, by destination: `SECTION DEST`.
layout() {
  printf '%s %s\n' conf "$FAIL2BAN_CONF" jail "$FAIL2BAN_JAIL" filter "$FAIL2BAN_FILTER" "action.$1" "$FAIL2BAN_ACTION" \
    nft-table "$FAIL2BAN_NFT_TABLE" unit "$FAIL2BAN_UNIT"
}

unchanged() {
  local name dest
  [ ! -e "$PENDING" ] && [ "$(cat "$RECORDED" 2>/dev/null)" = "$1" ] && service_active "$FAIL2BAN_UNIT_NAME" || return 1
  while read -r name dest; do cmp -s <(section "$name") "$dest" || return 1; done < <(layout "$1")
}

# Puts the files of before this run back and restarts the instance if there was one, so that it bans as before.
restore() {
  put_back "$FAIL2BAN_DIR" "$FAIL2BAN_UNIT"
  systemctl daemon-reload
  if [ -e "$(kept "$FAIL2BAN_UNIT")" ]; then systemctl restart "$FAIL2BAN_UNIT_NAME" || true; else systemctl stop "$FAIL2BAN_UNIT_NAME" 2>/dev/null || true; fi
}

# Up to 10 s for the jail to answer on the instance's socket.
jail_running() {
  local tries=50
  while [ "$tries" -gt 0 ]; do
    fail2ban status "$FAIL2BAN_JAIL_NAME" >/dev/null 2>&1 && return 0
    sleep 0.2
    tries=$((tries - 1))
  done
  return 1
}

apply() {
  local backend name dest err
  if [ -z "$(section enabled)" ]; then
    if [ -f "$RECORDED" ]; then remove; else note "bans are off"; fi
    return 0
  fi
  [ -x "$FAIL2BAN_CLIENT" ] || die "fail2ban is not installed; the packages step installs it when bans.enabled is on"
  backend=$(cat "$FIREWALL_BACKEND_FILE" 2>/dev/null || echo none)
  case "$backend" in
    nftables | ufw | firewalld) ;;
    *) die "bans go into the host's firewall, and the firewall step found none to manage (backend: $backend); nothing was changed; set firewall.backend, or bans.enabled: false" ;;
  esac
  if unchanged "$backend"; then note "bans unchanged ($backend)"; return 0; fi
  keep "$FAIL2BAN_DIR" "$FAIL2BAN_UNIT"
  mkdir -p "$STATE"
  : >"$PENDING"
  install -d -m 0755 -o root -g root "$FAIL2BAN_DIR" "${FAIL2BAN_FILTER%/*}" "${FAIL2BAN_ACTION%/*}"
  install -d -m 0700 -o root -g root "$FAIL2BAN_STATE_DIR"
  while read -r name dest; do section "$name" | put_file 0644 root:root "$dest"; done < <(layout "$backend")
  if ! err=$(fail2ban --test 2>&1); then
    restore
    die "fail2ban rejected the new configuration; the previous configuration is back in place" "$err"
  fi
  checkpoint bans-written
  systemctl daemon-reload
  enable_service "$FAIL2BAN_UNIT_NAME"
  # A reload restarts the jail on the new files; the bans that still run come back from the database.
  if service_active "$FAIL2BAN_UNIT_NAME" && cmp -s "$FAIL2BAN_UNIT" "$(kept "$FAIL2BAN_UNIT")" && [ "$(cat "$RECORDED" 2>/dev/null)" = "$backend" ]; then
    systemctl reload "$FAIL2BAN_UNIT_NAME"
  else
    systemctl restart "$FAIL2BAN_UNIT_NAME"
  fi
  if ! jail_running; then
    restore
    die "fail2ban ($FAIL2BAN_UNIT_NAME) did not start its jail; the previous configuration is back in place; see journalctl -u $FAIL2BAN_UNIT_NAME" \
      "$(journalctl -u "$FAIL2BAN_UNIT_NAME" -n 10 --no-pager -o cat 2>/dev/null || true)"
  fi
  printf '%s\n' "$backend" >"$RECORDED"
  rm -f "$PENDING"
  note "bans configured ($backend)"
}

# The number of the first ufw rule a ban of ours made (its comment names our unit), if any.
first_ufw_ban() { ufw status numbered 2>/dev/null | sed -n "s/^\[ *\([0-9]*\)\].*# $FAIL2BAN_UNIT_NAME\$/\1/p" | head -n 1; }

remove() {
  local n
  # Stopping the jail lifts its bans (and, with nftables, deletes its table). What a jail that died without
  # stopping left behind goes too: our table, and ufw rules by their comment (rich rules end at firewalld's reload).
  systemctl disable --now --quiet "$FAIL2BAN_UNIT_NAME" 2>/dev/null || true
  if command -v nft >/dev/null && nft list table inet "$NFT_BAN_TABLE" >/dev/null 2>&1; then nft delete table inet "$NFT_BAN_TABLE"; fi
  if command -v ufw >/dev/null; then
    # Bounded: a rule that would not go must not hold destroy in a loop.
    for _ in $(seq 1000); do
      n=$(first_ufw_ban)
      [ -n "$n" ] || break
      ufw --force delete "$n" >/dev/null
    done
  fi
  if [ -f "$FAIL2BAN_UNIT" ]; then
    rm -f "$FAIL2BAN_UNIT"
    systemctl daemon-reload
  fi
  rm -rf "$FAIL2BAN_DIR" "$FAIL2BAN_STATE_DIR" "$STATE"
  rm -f "$PENDING"
  # $ETC_DIR is shared with the other steps: whichever is removed last takes it.
  rmdir "$ETC_DIR" 2>/dev/null || true
  tidy_state
  note "bans removed"
}
