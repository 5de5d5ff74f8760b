# Opens the submission ports in whichever firewall the host uses. Only accepts are added, never a drop or a policy,
# so SSH cannot be cut, and what was added is recorded so that it alone is removed again. An inactive ufw is left
# inactive (its rules wait for the operator to enable it).
# Sections: backend (auto|nftables|ufw|firewalld|none), nft, ufw, firewalld (rules per backend), nft-sync (helper).
# Prints "backend=<name>" on stdout (the component's firewallBackend output).

STATE=$STATE_DIR/firewall

detect_backend() {
  if service_active firewalld; then echo firewalld
  elif command -v ufw >/dev/null && [[ $(ufw status 2>/dev/null) == *"Status: active"* ]]; then echo ufw
  elif command -v nft >/dev/null; then echo nftables
  else echo none
  fi
}

nft_apply() {
  install -d -m 0755 "${NFT_SYNC%/*}" "${NFT_RULES%/*}"
  put_file 0755 root:root "$NFT_SYNC" < <(section nft-sync)
  put_file 0644 root:root "$NFT_RULES" < <(section nft)
  "$NFT_SYNC" apply
  [ -n "$("$NFT_SYNC" chains)" ] || note "no nftables input chain filters traffic: nothing to open"
  if systemctl cat nftables.service >/dev/null 2>&1; then
    install -d -m 0755 "${NFT_DROP_IN%/*}"
    put_file 0644 root:root "$NFT_DROP_IN" < <(printf '%s\n' "# mail-submission: re-open $PORT_SUBMISSIONS/$PORT_SUBMISSION whenever the ruleset is (re)loaded" \
      '[Service]' "ExecStartPost=-$NFT_SYNC apply" "ExecReload=-$NFT_SYNC apply")
    systemctl daemon-reload
  else
    note "warning: no nftables.service here, so the openings will not survive a reboot"
  fi
}

nft_remove() {
  [ -x "$NFT_SYNC" ] && "$NFT_SYNC" remove
  rm -f "$NFT_DROP_IN" "$NFT_RULES" "$NFT_SYNC"
  # $ETC_DIR is shared with the certificate step: whichever is removed last takes it.
  rmdir "${NFT_DROP_IN%/*}" "${NFT_SYNC%/*}" "${NFT_RULES%/*}" 2>/dev/null || true
  systemctl daemon-reload 2>/dev/null || true
}

ufw_rules() { local -a args; local line; while IFS= read -r line; do read -ra args <<<"$line"; ufw "$@" "${args[@]}"; done; }

firewalld_rules() {
  local verb=$1 line
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    [ "$verb" = remove ] && line=${line/--add-/--remove-}
    firewall-cmd --permanent "$line"
  done
  firewall-cmd --reload
}

# remove_backend NAME: takes out what the last apply added with NAME (rules recorded in $STATE/rules).
remove_backend() {
  case "$1" in
    nftables) nft_remove ;;
    ufw) grep -v '^$' "$STATE/rules" | ufw_rules delete || true ;;
    firewalld) firewalld_rules remove <"$STATE/rules" || true ;;
  esac
}

apply() {
  local backend previous=none
  backend=$(section backend)
  [ "$backend" = auto ] && backend=$(detect_backend)
  mkdir -p "$STATE"
  [ -f "$FIREWALL_BACKEND_FILE" ] && previous=$(cat "$FIREWALL_BACKEND_FILE")
  case "$backend" in
    nftables) nft_apply ;;
    ufw)
      command -v ufw >/dev/null || die "firewall.backend is ufw, but ufw is not installed; nothing was changed; install it or choose another backend"
      section ufw | ufw_rules
      # Rules of the last apply that are no longer wanted.
      if [ "$previous" = ufw ]; then grep -vxF -f <(section ufw) "$STATE/rules" | ufw_rules delete || true; fi
      ;;
    firewalld)
      command -v firewall-cmd >/dev/null || die "firewall.backend is firewalld, but firewalld is not installed; nothing was changed; install it or choose another backend"
      section firewalld | firewalld_rules add
      if [ "$previous" = firewalld ]; then grep -vxF -f <(section firewalld) "$STATE/rules" | firewalld_rules remove || true; fi
      ;;
    none) ;;
    *) die "unknown firewall backend $backend; nothing was changed" ;;
  esac
  [ "$previous" != "$backend" ] && [ "$previous" != none ] && remove_backend "$previous"
  printf '%s\n' "$backend" >"$FIREWALL_BACKEND_FILE"
  case "$backend" in ufw | firewalld) section "$backend" >"$STATE/rules" ;; *) : >"$STATE/rules" ;; esac
  note "openings in place ($backend)"
  result "backend=$backend"
}

remove() {
  [ -f "$FIREWALL_BACKEND_FILE" ] && remove_backend "$(cat "$FIREWALL_BACKEND_FILE")"
  rm -rf "$STATE"
  tidy_state
  note "firewall openings removed"
}

