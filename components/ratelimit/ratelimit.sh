# Per-login sending limits for our submission services, by policyd-rate-limit instances of our own, one per kind of
# limit, each with its own configuration, socket in Postfix's queue and database, run by our template unit; a daily
# timer purges old counts. A host's own policyd-rate-limit (its service, /etc/policyd-rate-limit.yaml) is never read
# or changed. Each new configuration is read by policyd-rate-limit itself before any instance restarts; an
# instance that does not open its socket puts the previous files back. The counts survive restarts.
# Sections: layout (`KIND UNIT CONF SOCKET` per kind; none: the limits are off), conf.KIND, unit, clean-service,
# clean-timer.

STATE=$STATE_DIR/ratelimit
RECORDED=$STATE/layout
# Present from the first file written until the instances have restarted: a step stopped in between is finished.
PENDING=$STATE_DIR/ratelimit.restart-pending
CLEAN_TIMER_UNIT=${RATELIMIT_CLEAN_TIMER##*/}

unchanged() {
  local kind unit conf socket
  [ ! -e "$PENDING" ] && cmp -s <(section unit) "$RATELIMIT_UNIT" && cmp -s <(section layout) "$RECORDED" &&
    cmp -s <(section clean-service) "$RATELIMIT_CLEAN_SERVICE" && cmp -s <(section clean-timer) "$RATELIMIT_CLEAN_TIMER" &&
    service_active "$CLEAN_TIMER_UNIT" || return 1
  while read -r kind unit conf socket; do
    cmp -s <(section "conf.$kind") "$conf" && service_active "$unit" && [ -S "$socket" ] || return 1
  done < <(section layout)
}

# Puts the files of before this run back and restarts the instances that were there, so that they count as before.
restore() {
  local kind unit rest
  put_back "$RATELIMIT_DIR" "$RATELIMIT_UNIT" "$RATELIMIT_CLEAN_SERVICE" "$RATELIMIT_CLEAN_TIMER"
  systemctl daemon-reload
  [ -f "$RECORDED" ] || return 0
  while read -r kind unit rest; do systemctl restart "$unit" || true; done <"$RECORDED"
}

write_files() {
  local kind unit conf socket
  install -d -m 0755 -o root -g root "$RATELIMIT_DIR"
  # Postfix, and only Postfix (and the daemon), can reach the sockets; only the daemon reads the counts.
  install -d -m 0750 -o "$RATELIMIT_USER" -g postfix "$RATELIMIT_SOCKET_DIR"
  install -d -m 0700 -o "$RATELIMIT_USER" -g postfix "$RATELIMIT_DB_DIR"
  while read -r kind unit conf socket; do
    section "conf.$kind" | put_file 0644 root:root "$conf"
  done < <(section layout)
  section unit | put_file 0644 root:root "$RATELIMIT_UNIT"
  section clean-service | put_file 0644 root:root "$RATELIMIT_CLEAN_SERVICE"
  section clean-timer | put_file 0644 root:root "$RATELIMIT_CLEAN_TIMER"
}

# Instances that the last layout had and this one does not.
drop_stale() {
  local kind unit conf socket
  [ -f "$RECORDED" ] || return 0
  while read -r kind unit conf socket; do
    grep -q "^$kind " <(section layout) && continue
    systemctl disable --now --quiet "$unit" 2>/dev/null || true
    rm -f "$conf" "$socket"
  done <"$RECORDED"
}

apply() {
  local kind unit conf socket err
  if [ -z "$(section layout)" ]; then
    if [ -f "$RECORDED" ]; then remove; else note "per-login sending limits are off"; fi
    return 0
  fi
  [ -x "$RATELIMIT_BIN" ] || die "policyd-rate-limit is not installed; the packages step installs it when limits.outbound is on"
  if unchanged; then note "sending limits unchanged"; return 0; fi
  keep "$RATELIMIT_DIR" "$RATELIMIT_UNIT" "$RATELIMIT_CLEAN_SERVICE" "$RATELIMIT_CLEAN_TIMER"
  mkdir -p "$STATE"
  : >"$PENDING"
  write_files
  while read -r kind unit conf socket; do
    # Reads the file as the daemon will (exit 5: not YAML it understands) and prints the limits it took from it.
    if ! err=$("$RATELIMIT_BIN" --file "$conf" --get-config limits 2>&1); then
      restore
      die "policyd-rate-limit rejected the new $kind configuration; the previous configuration is back in place" "$err"
    fi
  done < <(section layout)
  checkpoint ratelimit-written
  systemctl daemon-reload
  while read -r kind unit conf socket; do
    enable_service "$unit"
    # No reload: the daemon reads its configuration at start. Postfix retries a policy socket after a second, and
    # the restart takes less; the counts are in the database and survive it.
    rm -f "$socket"
    systemctl restart "$unit"
    if ! wait_for_socket "$socket"; then
      restore
      die "policyd-rate-limit ($unit) did not open its socket $socket; the previous configuration is back in place; see journalctl -u $unit" \
        "$(journalctl -u "$unit" -n 10 --no-pager -o cat 2>/dev/null || true)"
    fi
  done < <(section layout)
  enable_service "$CLEAN_TIMER_UNIT"
  systemctl start "$CLEAN_TIMER_UNIT"
  drop_stale
  section layout >"$RECORDED"
  rm -f "$PENDING"
  note "sending limits configured ($(section layout | cut -d' ' -f1 | paste -sd' '))"
}

remove() {
  local kind unit rest
  systemctl disable --now --quiet "$CLEAN_TIMER_UNIT" 2>/dev/null || true
  if [ -f "$RECORDED" ]; then
    while read -r kind unit rest; do systemctl disable --now --quiet "$unit" 2>/dev/null || true; done <"$RECORDED"
  fi
  rm -f "$RATELIMIT_UNIT" "$RATELIMIT_CLEAN_SERVICE" "$RATELIMIT_CLEAN_TIMER"
  systemctl daemon-reload 2>/dev/null || true
  rm -rf "$RATELIMIT_DIR" "$RATELIMIT_SOCKET_DIR" "$RATELIMIT_DB_DIR" "$STATE"
  rm -f "$PENDING"
  # $ETC_DIR is shared with the other steps: whichever is removed last takes it.
  rmdir "$ETC_DIR" 2>/dev/null || true
  tidy_state
  note "sending limits removed"
}
