# Postfix's submission services, through postconf only: -M for the master.cf entries, -P for their -o settings.
# main.cf is never touched, so port 25 behaves as before.
#
# Validate before going live: the new master.cf is built in a candidate directory and rehearsed by a throwaway
# Postfix instance (its own master, queue and loopback ports) that gets the same client checks as the live service
# (rehearsal.sh). Only a candidate that passes replaces the live master.cf, with one `postfix reload`; a rejected
# one never reaches the live master, so nothing is reloaded and nothing is throttled. The lookup tables live in a
# directory named by their content, so the candidate's tables sit beside the live ones until the switch.
# Sections: services (key=master.cf line), params (key/name=value), known (the parameters we set ourselves),
# mapdir (version), file.<name> (tables), hostname, ports (our ports).

MASTER=$POSTFIX_MASTER_CF
MAP_DIR=$POSTFIX_MAP_DIR
STATE=$STATE_DIR/postfix

# write_maps VERSION: the tables into $MAP_DIR/VERSION, made whole in a temp dir and renamed into place.
write_maps() {
  local dir=$MAP_DIR/$1 tmp name
  install -d -m 0755 "$MAP_DIR"
  [ -d "$dir" ] && return 0
  tmp=$(mktemp -d "$MAP_DIR/.new.XXXXXX")
  while IFS= read -r name; do
    section "file.$name" >"$tmp/$name"
  done < <(sed -n 's/^#@ file\.//p' "$BUNDLE")
  chmod 0755 "$tmp"
  chmod 0644 "$tmp"/* 2>/dev/null || true
  mv -T "$tmp" "$dir"
}

# build_candidate DIR: main.cf and master.cf as the live ones, with our services as the bundle wants them.
build_candidate() {
  local dir=$1 key wanted line
  wanted=$(section services | for_this_host)
  install -d -m 0755 "$dir"
  cp -p "$POSTFIX_MAIN_CF" "$MASTER" "$dir/"
  # Services we added last time and no longer want (e.g. 587 switched off, or named by an earlier version).
  if [ -f "$STATE/services" ]; then
    while IFS= read -r key; do
      grep -q "^$key=" <<<"$wanted" || postconf -c "$dir" -MX "$key"
    done <"$STATE/services"
  fi
  give_back_displaced "$dir"
  displace_rivals "$dir" "$(cut -d= -f1 <<<"$wanted" | tr '\n' ' ')"
  while IFS= read -r line; do [ -z "$line" ] || postconf -c "$dir" -M "$line"; done <<<"$wanted"
  while IFS= read -r line; do postconf -c "$dir" -P "$line"; done < <(section params | for_this_host | with_main_milters)
}

# displace_rivals DIR OUR_KEYS: the operator's entries that bind one of our ports are commented out, each recorded
# whole (so that it can come back) and named in a warning; on later runs the warning says it stays replaced.
displace_rivals() {
  local key entry
  while IFS= read -r key; do
    [ -n "$key" ] || continue
    entry=$(postconf -c "$1" -M "$key")
    printf '%s=%s\n' "$key" "$entry" >>"$SCRATCH/displaced"
    postconf -c "$1" -M# "$key"
  done < <(rival_entries "$1" "$2")
  [ -s "$SCRATCH/displaced" ] || return 0
  while IFS= read -r entry; do
    note "warning: the operator's master.cf entry '$(tr -s ' ' <<<"${entry#*=}")' binds port $(port_of "${entry%%/*}"), which our submission service serves: it is commented out while mail-submission is deployed, and destroy puts it back"
  done < <(sort -u "$SCRATCH/displaced")
}

# give_back_displaced DIR: an entry we displaced comes back as it was once none of our services needs its port; the
# others stay displaced ($SCRATCH/displaced, recorded once the new master.cf is live).
give_back_displaced() {
  local entry ports
  : >"$SCRATCH/displaced"
  [ -f "$STATE/displaced" ] || return 0
  ports=" $(section ports | tr '\n' ' ') "
  while IFS= read -r entry; do
    if [[ $ports == *" $(port_of "${entry%%/*}") "* ]]; then
      printf '%s\n' "$entry" >>"$SCRATCH/displaced"
    else
      postconf -c "$1" -M "$entry"
      note "the operator's master.cf entry '$(tr -s ' ' <<<"${entry#*=}")' is back: none of our services needs its port any more"
    fi
  done <"$STATE/displaced"
}

# Removes table versions that the live master.cf no longer names.
prune_maps() {
  local dir
  for dir in "$MAP_DIR"/* "$MAP_DIR"/.new.*; do
    [ -d "$dir" ] || continue
    grep -qF "$dir/" "$MASTER" || rm -rf "$dir"
  done
}

# pass_on_warnings TEXT: each distinct warning postconf gave, as a note of this step (shown by `pulumi up`).
pass_on_warnings() {
  local line
  while IFS= read -r line; do
    if [ -n "$line" ]; then note "warning: Postfix warns about the host's own configuration: ${line#*warning: }"; fi
  done < <(grep 'warning:' <<<"$1" | sort -u || true)
}

# require_known_parameters CANDIDATE_DIR: Postfix only warns about an -o it does not know, so a version without one of
# our parameters would silently lose the promise it carries.
require_known_parameters() {
  local -a known
  local unknown
  mapfile -t known < <(section known)
  [ ${#known[@]} -gt 0 ] || return 0
  unknown=$(postconf -c "$1" -d "${known[@]}" 2>&1 >/dev/null | sed -n 's/^.*warning: \([a-z0-9_]*\): unknown parameter$/\1/p' | tr '\n' ' ')
  [ -z "$unknown" ] ||
    die "Postfix $(postconf -dh mail_version) does not know ${unknown% }, which the submission services need; the live configuration was not changed; use Postfix 3.7.11 or newer (Debian 12 or 13)"
}

reload_postfix() {
  if postfix status >/dev/null 2>&1; then postfix reload; else systemctl start postfix; fi
}

# After the switch, each live port must answer as rehearsed. Only a host problem (a port taken since the rehearsal)
# can fail here; then the previous master.cf comes back.
live_ports_answer() {
  local hostname port
  hostname=$(section hostname)
  for port in $(section ports); do port_answers "$port" 127.0.0.1 "$port" "$hostname" || return 1; done
}

apply() {
  command -v postconf >/dev/null || die "Postfix is not installed (the packages step installs it); nothing was changed"
  mkdir -p "$STATE"
  backup_once "$MASTER"
  local version candidate err
  version=$(section mapdir)
  write_maps "$version"
  candidate=$SCRATCH/candidate
  build_candidate "$candidate"
  checkpoint postfix-candidate

  # A switch that was not followed by its reload (the step was killed in between) is finished here.
  if cmp -s "$candidate/master.cf" "$MASTER" && postfix status >/dev/null 2>&1 && [ ! -e "$STATE/reload-pending" ]; then
    prune_maps
    note "Postfix configuration unchanged"
    return 0
  fi
  # postconf reads main.cf and master.cf as master(8) will; what only a running smtpd finds, the rehearsal finds.
  # (`postfix check` would also walk the whole installation's permissions: seconds, and nothing about our settings.)
  # Only a failed postconf or a fatal/error line is a refusal: a warning (e.g. main.cf setting a parameter twice,
  # which Postfix runs with) is the operator's, and is passed on.
  if ! err=$({ postconf -c "$candidate" -n && postconf -c "$candidate" -M && postconf -c "$candidate" -P; } 2>&1 >/dev/null) ||
    grep -qE '(fatal|error|panic):' <<<"$err"; then
    die "Postfix cannot read the new settings; the live configuration was not changed; fix the setting it names and run pulumi up again" "$err"
  fi
  # Named as the operator knows them: the live files, not the candidate's copies.
  pass_on_warnings "${err//$candidate\//${POSTFIX_MAIN_CF%/*}/}"
  require_known_parameters "$candidate"
  rehearse "$candidate"
  if [ -n "$REHEARSAL_PROBLEM" ]; then
    die "the new settings failed their rehearsal on loopback ($REHEARSAL_PROBLEM); the live configuration was not changed; fix what Postfix names below and run pulumi up again" \
      "$(cat "$SCRATCH/rehearsal.log" 2>/dev/null)"
  fi
  checkpoint postfix-rehearsed

  cp -p "$MASTER" "$SCRATCH/master.before"
  : >"$STATE/reload-pending"
  install -m 0644 "$candidate/master.cf" "$MASTER.mail-submission.new"
  mv -f "$MASTER.mail-submission.new" "$MASTER"
  checkpoint postfix-switched
  enable_service postfix
  reload_postfix
  if ! live_ports_answer; then
    cp -p "$SCRATCH/master.before" "$MASTER"
    reload_postfix || true
    die "after the reload a live port did not answer although the rehearsal passed; the previous master.cf is back in place; check what else listens on $PORT_SUBMISSIONS/$PORT_SUBMISSION"
  fi
  rm -f "$STATE/reload-pending"
  section services | for_this_host | cut -d= -f1 >"$STATE/services"
  if [ -s "$SCRATCH/displaced" ]; then sort -u "$SCRATCH/displaced" >"$STATE/displaced"; else rm -f "$STATE/displaced"; fi
  sha256sum "$MASTER" | cut -d' ' -f1 >"$STATE/master.applied"
  prune_maps
  note "Postfix submission services configured (rehearsed, then reloaded once)"
}

remove() {
  local orig key entry
  orig=$(orig_of "$MASTER")
  if ! command -v postconf >/dev/null; then
    note "Postfix is gone already"
  elif [ -f "$orig" ] && [ -f "$STATE/master.applied" ] &&
    [ "$(sha256sum "$MASTER" | cut -d' ' -f1)" = "$(cat "$STATE/master.applied")" ]; then
    # Nobody edited master.cf since our last change: the host's original comes back byte for byte.
    cp -p "$orig" "$MASTER"
  else
    note "master.cf was edited since mail-submission changed it: removing only our entries, putting back the operator's"
    if [ -f "$STATE/services" ]; then
      while IFS= read -r key; do postconf -MX "$key"; done <"$STATE/services"
    fi
    if [ -f "$STATE/displaced" ]; then
      while IFS= read -r entry; do postconf -M "$entry"; done <"$STATE/displaced"
    fi
  fi
  rm -rf "$MAP_DIR" "$STATE" "$orig"
  tidy_state
  if command -v postfix >/dev/null && postfix status >/dev/null 2>&1; then postfix reload; fi
  note "Postfix submission services removed"
}
