# shellcheck shell=bash
# What the ratelimit step owns, for the drift read (host/observe.sh): each instance's configuration (digest), the
# units, and whether each instance and the purge timer run.

observe_ratelimit() {
  local kind unit conf socket
  [ -f "$STATE_DIR/ratelimit/layout" ] || return 0
  printf 'ratelimit:unit %s\n' "$(file_digest "$RATELIMIT_UNIT")"
  printf 'ratelimit:clean %s %s\n' "$(file_digest "$RATELIMIT_CLEAN_SERVICE")" "$(file_digest "$RATELIMIT_CLEAN_TIMER")"
  printf 'ratelimit:timer %s\n' "$(service_state "${RATELIMIT_CLEAN_TIMER##*/}")"
  while read -r kind unit conf socket; do
    printf 'ratelimit:%s:conf %s\n' "$kind" "$(file_digest "$conf")"
    printf 'ratelimit:%s:service %s\n' "$kind" "$(service_state "$unit")"
    printf 'ratelimit:%s:socket %s\n' "$kind" "$([ -S "$socket" ] && echo present || echo absent)"
  done <"$STATE_DIR/ratelimit/layout"
}
