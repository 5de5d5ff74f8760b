# shellcheck shell=bash
# What the postfix step owns, for the drift read (host/observe.sh): its master.cf entries and each of their -o
# settings, the lookup tables, and whether Postfix runs.

observe_postfix() {
  local key
  # Our entries are those the step last wrote (postfix.sh records their keys): their names carry the wildcard
  # address of each family, so they cannot be told from the operator's by port alone.
  while IFS= read -r key; do
    printf 'postfix:%s %s\n' "$key" "$(postconf -M "$key" 2>/dev/null | digest_of)"
    postconf -P 2>/dev/null | awk -v k="$key/" 'index($0, k) == 1 { sub(/ = /, " "); print }' | while read -r name value; do
      printf 'postfix:%s %s\n' "$name" "$(printf '%s' "$value" | digest_of)"
    done
  done < <(cat "$STATE_DIR/postfix/services" 2>/dev/null || true)
  printf 'postfix:maps %s\n' "$(find "$POSTFIX_MAP_DIR" -type f -print0 2>/dev/null | sort -z | xargs -0r sha256sum | digest_of)"
  printf 'postfix:service %s\n' "$(service_state postfix)"
}
