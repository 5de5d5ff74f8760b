# Postfix's submission services, through postconf only: -M for the master.cf entries, -P for their -o settings.
# main.cf is not touched, so port 25 behaves as before. `postfix check` and a live probe of each port run before
# the change is kept; on failure the previous master.cf and maps come back, Postfix is reloaded, the step fails.
# Sections: services (key=master.cf line), params (key/name=value), ports, hostname, file.<name> (maps).

MASTER=/etc/postfix/master.cf
MAP_DIR=/etc/postfix/mail-submission
STATE=$STATE_DIR/postfix
# Entries that would also bind 465/587 under their /etc/services names (e.g. uncommented from Debian's examples).
RIVALS="submission/inet submissions/inet smtps/inet"

reload_postfix() {
  if postfix status >/dev/null 2>&1; then postfix reload >&2 2>&1; else systemctl start postfix; fi
}

write_maps() {
  local name
  install -d -m 0755 "$MAP_DIR"
  while IFS= read -r name; do
    put_file 0644 root:root "$MAP_DIR/$name" < <(section "file.$name")
  done < <(sed -n 's/^#@ file\.//p' "$BUNDLE")
  for name in "$MAP_DIR"/*; do
    [ -e "$name" ] || continue
    has_section "file.${name##*/}" || { rm -f "$name"; CHANGED=yes; }
  done
}

write_master() {
  local key line
  cp -p "$MASTER" "$SCRATCH/master.before"
  # Services we added last time and no longer want (e.g. 587 switched off).
  if [ -f "$STATE/services" ]; then
    while IFS= read -r key; do
      section services | grep -q "^$key=" || postconf -MX "$key"
    done <"$STATE/services"
  fi
  for key in $RIVALS; do
    if postconf -M "$key" 2>/dev/null | grep -q .; then
      log "commenting out the existing $key entry, which would bind the same port"
      postconf -M# "$key"
    fi
  done
  while IFS= read -r line; do postconf -M "$line"; done < <(section services)
  while IFS= read -r line; do postconf -P "$line"; done < <(section params)
  cmp -s "$MASTER" "$SCRATCH/master.before" || CHANGED=yes
}

# Each port must really answer: master(8) binds the sockets itself, so a bad smtpd setting shows only when a
# client connects.
probe_ports() {
  local hostname port
  hostname=$(section hostname)
  for port in $(section ports); do
    case "$port" in
      465) [ -n "$(probe_tls 465 "$hostname")" ] || { echo "port 465 did not complete a TLS handshake"; return 1; } ;;
      587) [ -n "$(probe_tls 587 "$hostname" starttls)" ] || { echo "port 587 did not complete STARTTLS"; return 1; } ;;
    esac
  done
}

# Postfix's own words about the submission services since START (epoch seconds), for the error message.
smtpd_complaints() {
  command -v journalctl >/dev/null || return 0
  journalctl --since "@$1" --no-pager -o short 2>/dev/null |
    sed -n -E 's/^.* postfix\/(submissions?|msub-cleanup)\/[a-z]+\[[0-9]+\]: ((warning|fatal|error|panic):.*)$/\2/p' |
    tail -n 5 || true
}

rollback() {
  restore_snapshot "$MASTER" "$MAP_DIR"
  reload_postfix || true
  die "$1; the previous Postfix configuration is back in place"
}

apply() {
  read_bundle
  command -v postconf >/dev/null || die "postfix is not installed"
  mkdir -p "$STATE"
  backup_once "$MASTER"
  snapshot "$MASTER" "$MAP_DIR"
  write_maps
  write_master
  if [ "$CHANGED" = no ] && postfix status >/dev/null 2>&1; then
    log "Postfix configuration unchanged"
    return 0
  fi
  local err
  if ! err=$(postfix check 2>&1) || printf '%s' "$err" | grep -q 'fatal:'; then
    rollback "postfix check failed: $err"
  fi
  systemctl enable --quiet postfix 2>/dev/null || true
  local since
  since=$(date +%s)
  reload_postfix
  sleep 1
  if ! err=$(probe_ports); then
    rollback "$err. Postfix says: $(smtpd_complaints "$since")"
  fi
  section services | cut -d= -f1 >"$STATE/services"
  sha256sum "$MASTER" | cut -d' ' -f1 >"$STATE/master.applied"
  log "Postfix submission services configured"
}

remove() {
  local orig key
  orig=$(orig_of "$MASTER")
  if [ -f "$orig" ] && [ -f "$STATE/master.applied" ] &&
    [ "$(sha256sum "$MASTER" | cut -d' ' -f1)" = "$(cat "$STATE/master.applied")" ]; then
    # Nobody edited master.cf since our last change: the host's original comes back byte for byte.
    cp -p "$orig" "$MASTER"
  else
    log "master.cf was edited since mail-submission changed it: removing only our entries"
    while IFS= read -r key; do postconf -MX "$key"; done <"$STATE/services" 2>/dev/null || true
  fi
  rm -rf "$MAP_DIR" "$STATE" "$orig"
  tidy_state
  if postfix status >/dev/null 2>&1; then postfix reload >&2 2>&1; fi
  log "Postfix submission services removed"
}

case "${1:-apply}" in
  apply) apply ;;
  remove) remove ;;
  *) die "unknown action $1" ;;
esac
