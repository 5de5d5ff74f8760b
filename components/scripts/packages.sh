# Installs the packages the other steps need, and only those that are missing, without questions.
# Sections: packages (one per line), mailname (Postfix's debconf answer on a first install).

apt_has_candidate() { apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [^(]'; }

install_apt() {
  local -a missing=()
  local p
  for p; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then log "all packages present"; return 0; fi
  export DEBIAN_FRONTEND=noninteractive
  if printf '%s\n' "${missing[@]}" | grep -qx postfix; then
    # Debian's postfix asks what kind of mail system this is; an Internet Site keeps port 25 as Debian ships it.
    printf 'postfix postfix/main_mailer_type select Internet Site\npostfix postfix/mailname string %s\n' \
      "$(section mailname)" | debconf-set-selections
  fi
  # apt-get update only when some package has no install candidate: lists present are used as they are.
  for p in "${missing[@]}"; do
    if ! apt_has_candidate "$p"; then log "refreshing package lists"; apt-get update -qq; break; fi
  done
  log "installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >&2
}

install_dnf() {
  local -a missing=()
  local p
  for p; do rpm -q "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -eq 0 ]; then log "all packages present"; return 0; fi
  log "installing ${missing[*]}"
  dnf install -y -q "${missing[@]}" >&2
}

apply() {
  read_bundle
  local -a wanted
  mapfile -t wanted < <(section packages | grep -v '^$')
  if command -v apt-get >/dev/null; then
    install_apt "${wanted[@]}"
  elif command -v dnf >/dev/null; then
    # RHEL family names: dovecot holds what Debian splits into dovecot-core and dovecot-imapd.
    mapfile -t wanted < <(printf '%s\n' "${wanted[@]}" | sed 's/^dovecot-core$/dovecot/; /^dovecot-imapd$/d; s/^netbase$//' | grep -v '^$')
    install_dnf "${wanted[@]}"
  else
    die "neither apt-get nor dnf found: only Debian/Ubuntu and the RHEL family are supported"
  fi
}

case "${1:-apply}" in
  apply) apply ;;
  *) die "unknown action $1" ;;
esac
