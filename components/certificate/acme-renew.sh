#!/bin/bash
# Installed on the host by the certificate step in acme mode (as the contract's ACME_RENEW, with the contract's
# values it needs set above this text). `acme-renew renew` is what the daily timer runs: lego renews when fewer
# than the configured days are left, and a new pair is installed with certificate-install (one rename, one reload).
# `acme-renew run DIR` is the first issuance, which the certificate step runs with its staged settings in DIR.
# A failure exits non-zero (a failed unit, lego's words in the journal) and leaves the served pair as it was.
# Usage: acme-renew run|renew [SETTINGS_DIR [DAYS]]
set -euo pipefail
action=${1:-renew}
conf=${2:-$ACME_CONFIG_DIR}
days=${3:-$(cat "$conf/days")}
port=$(cat "$conf/port")
mapfile -t args <"$conf/args"

# The provider's credentials reach lego as its environment, read line by line: never through a shell's eval.
while IFS= read -r line; do
  [ -n "$line" ] && export "${line%%=*}=${line#*=}"
done <"$conf/env"
if [ -s "$conf/ca.pem" ]; then export LEGO_CA_CERTIFICATES=$conf/ca.pem; fi

# The challenge's port is open only while lego runs, in the firewall the firewall step chose, and only where it
# was not open already (then it is the operator's, and stays).
backend=none
[ -z "$port" ] || [ ! -f "$FIREWALL_BACKEND_FILE" ] || backend=$(cat "$FIREWALL_BACKEND_FILE")
opened=no
open_port() {
  case "$backend" in
    nftables)
      local family table chain
      while read -r family table chain; do
        nft insert rule "$family" "$table" "$chain" tcp dport "$port" accept comment "\"$ACME_CHALLENGE_COMMENT\""
      done < <("$NFT_SYNC" chains)
      ;;
    ufw)
      local rules
      rules=$(ufw status)
      grep -Eq "^$port(/tcp)? +ALLOW +Anywhere" <<<"$rules" && return 0
      ufw allow "$port/tcp" comment "$ACME_CHALLENGE_COMMENT" >/dev/null
      ;;
    firewalld)
      firewall-cmd --query-port="$port/tcp" >/dev/null 2>&1 && return 0
      firewall-cmd --add-port="$port/tcp" >/dev/null
      ;;
    *) return 0 ;;
  esac
  opened=yes
}
close_port() {
  [ "$opened" = yes ] || return 0
  case "$backend" in
    nftables)
      local family table chain handle
      while read -r family table chain; do
        for handle in $(nft -a list chain "$family" "$table" "$chain" | grep -F "\"$ACME_CHALLENGE_COMMENT\"" | sed -n 's/.*# handle \([0-9]*\)$/\1/p'); do
          nft delete rule "$family" "$table" "$chain" handle "$handle"
        done
      done < <("$NFT_SYNC" chains)
      ;;
    ufw) ufw delete allow "$port/tcp" >/dev/null ;;
    firewalld) firewall-cmd --remove-port="$port/tcp" >/dev/null ;;
  esac
}
trap close_port EXIT
open_port

case "$action" in
  run) lego "${args[@]}" run ;;
  renew)
    # No sleep of lego's own: the timer already starts at a random time of the day.
    lego "${args[@]}" renew --days "$days" --no-random-sleep "${@:4}"
    # Installed whenever lego's pair is not the one served: a renewal, or one whose install failed before.
    crt=$ACME_DIR/certificates/$(head -n 1 "$conf/names").crt
    if ! cmp -s "$crt" "$TLS_LINK/$CERT_CHAIN_FILE"; then "$CERT_INSTALL"; fi
    ;;
  *) echo "usage: acme-renew run|renew [SETTINGS_DIR [DAYS]]" >&2; exit 2 ;;
esac
