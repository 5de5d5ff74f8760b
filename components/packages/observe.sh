# shellcheck shell=bash
# What the packages step owns, for the drift read (host/observe.sh): the state of the two daemons' packages.

observe_packages() {
  local p
  for p in postfix dovecot-core; do
    printf 'package:%s %s\n' "$p" "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | tr -d ' ' || echo absent)"
  done
}
