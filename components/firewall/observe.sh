# shellcheck shell=bash
# What the firewall step owns, for the drift read (host/observe.sh): our rules in the backend it used.

observe_firewall() {
  local backend
  backend=$(cat "$FIREWALL_BACKEND_FILE" 2>/dev/null || echo none)
  case "$backend" in
    nftables)
      # Our accepts in each input chain, without the handles nft gives them.
      "$NFT_SYNC" chains 2>/dev/null | while read -r family table chain; do
        printf 'firewall:nft:%s/%s/%s %s\n' "$family" "$table" "$chain" \
          "$(nft list chain "$family" "$table" "$chain" 2>/dev/null | grep -F "$NFT_COMMENT" | sed 's/^[[:space:]]*//' | sort | digest_of)"
      done
      ;;
    ufw) printf 'firewall:ufw %s\n' "$(ufw show added 2>/dev/null | grep -F -f "$STATE_DIR/firewall/rules" | sort | digest_of)" ;;
    firewalld) printf 'firewall:firewalld %s\n' "$({ firewall-cmd --list-ports; firewall-cmd --list-rich-rules; } 2>/dev/null | digest_of)" ;;
  esac
}
