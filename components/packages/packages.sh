# Installs the packages the other steps need, and only those that are missing, without questions. It records
# every package that the install brought (dependencies included), so that `pulumi destroy` can take out exactly
# those, and never a package that was there before. What destroy does is the bundle's choice:
#   remove   apt-get remove: daemons stop and their sockets close; configuration and queued mail stay on disk
#   disable  stop and disable the services of those packages, keep the packages
#   keep     leave them as they are
# Sections: packages (one per line), mailname (Postfix's debconf answer on a first install), ondestroy, protocols
# (the packages that add a protocol to every Dovecot of the host: Debian's dovecot.conf includes each one installed),
# replaced (the packaged daemons our own instances stand in for).

INSTALLED=$STATE_DIR/packages.installed
# package:service pairs whose service `disable` stops.
SERVICES="postfix:postfix dovecot-core:dovecot dovecot:dovecot opendkim:opendkim"

# Package names currently installed, sorted.
installed_now() {
  if command -v dpkg-query >/dev/null; then
    dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" { print $2 }' | sort -u
  else
    rpm -qa --qf '%{NAME}\n' | sort -u
  fi
}

missing_of() {
  local p
  for p; do grep -qxF -- "$p" "$SCRATCH/before" || printf '%s\n' "$p"; done
}

# Whether apt knows an install candidate for P. The policy text is captured first: `apt-cache | grep -q` under
# pipefail fails when grep exits early and apt-cache dies of SIGPIPE, and each such false "no" cost an apt-get update.
apt_has_candidate() {
  local policy
  policy=$(apt-cache policy "$1" 2>/dev/null)
  [[ $policy =~ Candidate:\ [^\(] ]]
}

install_apt() {
  export DEBIAN_FRONTEND=noninteractive
  if [[ " $* " == *" postfix "* ]]; then
    # Debian's postfix asks what kind of mail system this is; an Internet Site keeps port 25 as Debian ships it.
    printf 'postfix postfix/main_mailer_type select Internet Site\npostfix postfix/mailname string %s\n' \
      "$(section mailname)" | debconf-set-selections
  fi
  local p
  for p; do
    if ! apt_has_candidate "$p"; then
      note "refreshing package lists ($p has no install candidate)"
      apt-get update -qq || die "apt-get update failed; nothing was installed; check the host's package sources" "$(tail -n 5 "$SCRATCH/tools")"
      break
    fi
  done
  apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" ||
    die "apt-get install $* failed; the host's other packages are as they were; see the lines below" "$(tail -n 15 "$SCRATCH/tools")"
}

apply() {
  local -a wanted missing
  mapfile -t wanted < <(section packages | grep -v '^$')
  if ! command -v apt-get >/dev/null && command -v dnf >/dev/null; then
    # RHEL family names: dovecot holds what Debian splits into dovecot-core and dovecot-imapd.
    mapfile -t wanted < <(printf '%s\n' "${wanted[@]}" | sed 's/^dovecot-core$/dovecot/; /^dovecot-imapd$/d')
  fi
  installed_now >"$SCRATCH/before"
  mapfile -t missing < <(missing_of "${wanted[@]}")
  if [ ${#missing[@]} -eq 0 ]; then note "all packages present"; return 0; fi
  refuse_protocols_for_host_dovecot "${missing[@]}"
  checkpoint packages-install
  if command -v apt-get >/dev/null; then
    install_apt "${missing[@]}"
  elif command -v dnf >/dev/null; then
    dnf install -y -q "${missing[@]}" || die "dnf install ${missing[*]} failed; see the lines below" "$(tail -n 15 "$SCRATCH/tools")"
  else
    die "neither apt-get nor dnf found: only Debian/Ubuntu and the RHEL family are supported; nothing was changed"
  fi
  mkdir -p "$STATE_DIR"
  # What this install brought, added to what earlier installs brought.
  { installed_now | comm -13 "$SCRATCH/before" -; cat "$INSTALLED" 2>/dev/null || true; } | sort -u >"$SCRATCH/installed"
  mv -f "$SCRATCH/installed" "$INSTALLED"
  note "installed ${missing[*]}"
  stop_packaged_daemons
}

# A Dovecot the host runs (the operator's) would start serving a protocol package we install, e.g. IMAP on 143 and
# 993 for dovecot-imapd. We never change what the host's Dovecot serves, so that install is refused.
refuse_protocols_for_host_dovecot() {
  local p
  grep -qxF dovecot-core "$INSTALLED" 2>/dev/null && return 0
  systemctl is-active --quiet dovecot 2>/dev/null || systemctl is-enabled --quiet dovecot 2>/dev/null || return 0
  for p; do
    section protocols | grep -qxF "$p" || continue
    die "installing $p would make the host's own Dovecot (dovecot.service) serve that protocol too (Debian's dovecot.conf includes every installed protocol); nothing was installed; install $p yourself if the host's Dovecot should serve it, or switch the service off in the stack config"
  done
}

# Debian starts the daemons that come with dovecot-core and opendkim; mail-submission runs instances of its own
# instead (dovecot/, dkim/), so the packaged units, which are ours as the packages are, are stopped and disabled.
# Section replaced: `PACKAGE UNIT...` lines.
stop_packaged_daemons() {
  local package units unit
  while read -r package units; do
    grep -qxF "$package" "$INSTALLED" || continue
    for unit in $units; do
      systemctl cat "$unit" >/dev/null 2>&1 || continue
      [ "$(systemctl is-enabled "$unit" 2>/dev/null)" = disabled ] && ! systemctl is-active --quiet "$unit" && continue
      systemctl disable --now --quiet "$unit"
      note "stopped and disabled the $unit that came with $package: mail-submission runs its own instance"
    done
  done < <(section replaced)
}

# Stops and disables the services of the packages we installed. Debian 13's postfix leaves its master running when
# the package is removed, so this comes before a removal too.
stop_our_services() {
  local s
  for s in $SERVICES; do
    grep -qxF "${s%%:*}" "$INSTALLED" || continue
    systemctl cat "${s#*:}.service" >/dev/null 2>&1 || continue
    systemctl disable --now --quiet "${s#*:}"
  done
}

remove() {
  local policy
  local -a ours
  policy=$(section ondestroy)
  [ -f "$INSTALLED" ] || { note "no package was installed by mail-submission"; return 0; }
  mapfile -t ours < <(installed_now | comm -12 - "$INSTALLED")
  case "$policy" in
    keep) note "keeping the packages mail-submission installed: ${ours[*]:-none}" ;;
    disable)
      stop_our_services
      note "stopped and disabled the services of the packages mail-submission installed"
      ;;
    remove)
      stop_our_services
      if [ ${#ours[@]} -gt 0 ]; then
        if command -v apt-get >/dev/null; then
          DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "${ours[@]}" ||
            die "apt-get remove failed; the packages are still installed; see the lines below" "$(tail -n 15 "$SCRATCH/tools")"
        else
          dnf remove -y -q "${ours[@]}" || die "dnf remove failed; see the lines below" "$(tail -n 15 "$SCRATCH/tools")"
        fi
      fi
      note "removed the packages mail-submission installed: ${ours[*]:-none}"
      ;;
    *) die "unknown ondestroy policy '$policy'" ;;
  esac
  rm -f "$INSTALLED"
  tidy_state
}
