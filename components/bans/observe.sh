# shellcheck shell=bash
# What the bans step owns, for the drift read (host/observe.sh): our fail2ban instance's files (digests), whether
# it runs, and whether its jail answers. The bans themselves come and go and are not drift.

observe_bans() {
  local f
  [ -f "$STATE_DIR/bans/backend" ] || return 0
  for f in "$FAIL2BAN_CONF" "$FAIL2BAN_JAIL" "$FAIL2BAN_FILTER" "$FAIL2BAN_ACTION" "$FAIL2BAN_NFT_TABLE" "$FAIL2BAN_UNIT"; do
    printf 'bans:%s %s\n' "${f##*/}" "$(file_digest "$f")"
  done
  printf 'bans:service %s\n' "$(service_state "$FAIL2BAN_UNIT_NAME")"
  printf 'bans:jail %s\n' "$("$FAIL2BAN_CLIENT" -c "$FAIL2BAN_DIR" status "$FAIL2BAN_JAIL_NAME" >/dev/null 2>&1 && echo running || echo absent)"
}
