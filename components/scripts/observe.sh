# shellcheck shell=bash
# What each step owns on the host, observed as `item digest` lines: digests of files and of settings read back,
# never their contents, so that no secret leaves the host. A step records its observation right after it applied
# (lib.sh), and the drift read (drift.sh) observes again and names every item that changed since.

digest_of() { sha256sum | cut -c1-16; }
file_digest() { if [ -e "$1" ]; then digest_of <"$1"; else echo absent; fi; }
service_state() { printf '%s/%s' "$(systemctl is-enabled "$1" 2>/dev/null || echo missing)" "$(systemctl is-active "$1" 2>/dev/null || echo inactive)"; }

observe_packages() {
  local p
  for p in postfix dovecot-core; do
    printf 'package:%s %s\n' "$p" "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | tr -d ' ' || echo absent)"
  done
}

observe_certificate() {
  local base=/etc/mail-submission/tls
  printf 'certificate:link %s\n' "$(readlink "$base" 2>/dev/null || echo absent)"
  printf 'certificate:chain %s\n' "$(file_digest "$base/fullchain.pem")"
  # The key by its public half: a digest of the private key would still be derived from the secret.
  printf 'certificate:key %s\n' "$(openssl pkey -pubout -in "$base/privkey.pem" 2>/dev/null | digest_of)"
}

observe_dovecot() {
  printf 'dovecot:drop-in %s\n' "$(file_digest /etc/dovecot/conf.d/99-mail-submission.conf)"
  printf 'dovecot:passwd-file %s\n' "$(file_digest /etc/dovecot/mail-submission.passwd)"
  printf 'dovecot:10-auth.conf %s\n' "$(file_digest /etc/dovecot/conf.d/10-auth.conf)"
  printf 'dovecot:service %s\n' "$(service_state dovecot)"
}

observe_postfix() {
  local key
  for key in $(postconf -M 2>/dev/null | awk '$1 ~ /^(465|587|msub-cleanup)$/ { print $1 "/" $2 }'); do
    printf 'postfix:%s %s\n' "$key" "$(postconf -M "$key" | digest_of)"
    postconf -P 2>/dev/null | awk -v k="$key/" 'index($0, k) == 1 { sub(/ = /, " "); print }' | while read -r name value; do
      printf 'postfix:%s %s\n' "$name" "$(printf '%s' "$value" | digest_of)"
    done
  done
  printf 'postfix:maps %s\n' "$(find /etc/postfix/mail-submission -type f -print0 2>/dev/null | sort -z | xargs -0r sha256sum | digest_of)"
  printf 'postfix:service %s\n' "$(service_state postfix)"
}

observe_firewall() {
  local backend
  backend=$(cat "$STATE_DIR/firewall/backend" 2>/dev/null || echo none)
  case "$backend" in
    nftables)
      # Our accepts in each input chain, without the handles nft gives them.
      /usr/local/lib/mail-submission/nft-sync chains 2>/dev/null | while read -r family table chain; do
        printf 'firewall:nft:%s/%s/%s %s\n' "$family" "$table" "$chain" \
          "$(nft list chain "$family" "$table" "$chain" 2>/dev/null | grep -F 'comment "mail-submission"' | sed 's/^[[:space:]]*//' | sort | digest_of)"
      done
      ;;
    ufw) printf 'firewall:ufw %s\n' "$(ufw show added 2>/dev/null | grep -F -f "$STATE_DIR/firewall/rules" | sort | digest_of)" ;;
    firewalld) printf 'firewall:firewalld %s\n' "$({ firewall-cmd --list-ports; firewall-cmd --list-rich-rules; } 2>/dev/null | digest_of)" ;;
  esac
}
