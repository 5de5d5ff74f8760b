#!/bin/bash
# Installed on the host by the firewall step (as the contract's NFT_SYNC, with NFT_RULES and NFT_COMMENT set above
# this text), and run by the firewall step and by nftables.service after it loads the operator's ruleset (our
# systemd drop-in), so the openings survive reboots.
#
# In nftables every base chain on the input hook sees the packet and a drop in any of them is final: an accept in a
# table of our own would not override the operator's policy drop. So our accepts go into each input base chain,
# at the top, tagged with the comment "mail-submission" so that they, and only they, can be found and removed.
# Rules file lines: "families|rule body", e.g. "inet,ip|ip saddr 192.0.2.0/24 tcp dport 465 accept comment ...".
set -euo pipefail
RULES=$NFT_RULES
TAG=$NFT_COMMENT

input_chains() {
  nft list chains 2>/dev/null | awk '
    $1 == "table" { family = $2; table = $3 }
    $1 == "chain" { chain = $2 }
    /hook input/ { print family, table, chain }'
}

our_handles() { nft -a list chain "$1" "$2" "$3" | grep -F "$TAG" | sed -n 's/.*# handle \([0-9]*\)$/\1/p'; }

apply_rules() {
  local family table chain handle fams body
  local -a words old
  while read -r family table chain; do
    mapfile -t old < <(our_handles "$family" "$table" "$chain")
    # New rules first, then the old ones go: the ports never close while a rule changes.
    if [ -f "$RULES" ]; then
      while IFS='|' read -r fams body; do
        [ -n "$body" ] || continue
        case ",$fams," in *",$family,"*) ;; *) continue ;; esac
        read -ra words <<<"$body"
        nft insert rule "$family" "$table" "$chain" "${words[@]}"
      done <"$RULES"
    fi
    for handle in "${old[@]}"; do nft delete rule "$family" "$table" "$chain" handle "$handle"; done
  done < <(input_chains)
}

case "${1:-apply}" in
  apply) apply_rules ;;
  remove) RULES=/dev/null apply_rules ;;
  chains) input_chains ;;
  *) echo "usage: nft-sync apply|remove|chains" >&2; exit 2 ;;
esac
