# shellcheck shell=bash
# What the dkim step owns, for the drift read (host/observe.sh): each signing instance's configuration, tables and
# key (digests only), the template unit, and whether each instance runs.

observe_dkim() {
  local alg unit conf keytable signingtable keyfile socket
  [ -f "$STATE_DIR/dkim/layout" ] || return 0
  printf 'dkim:unit %s\n' "$(file_digest "$OPENDKIM_UNIT")"
  while read -r alg unit conf keytable signingtable keyfile socket; do
    printf 'dkim:%s:conf %s\n' "$alg" "$(file_digest "$conf")"
    printf 'dkim:%s:keytable %s\n' "$alg" "$(file_digest "$keytable")"
    printf 'dkim:%s:signingtable %s\n' "$alg" "$(file_digest "$signingtable")"
    printf 'dkim:%s:key %s\n' "$alg" "$(file_digest "$keyfile")"
    printf 'dkim:%s:service %s\n' "$alg" "$(service_state "$unit")"
    printf 'dkim:%s:socket %s\n' "$alg" "$([ -S "$socket" ] && echo present || echo absent)"
  done <"$STATE_DIR/dkim/layout"
}
