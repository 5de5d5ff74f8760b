# shellcheck shell=bash
# Cached Debian root filesystems that sandbox hosts boot from (read-only lower layer of each host's overlay).
#
# Hosts have no route to the outside world, so every .deb the product (and the tests) will install later is
# downloaded into the image's apt cache now, and the apt lists are kept so `apt-get install` resolves offline.

# Bump when the build steps change in a way that should invalidate cached images.
readonly IMAGE_FORMAT_VERSION=1
# Installed by debootstrap: enough to boot under systemd-nspawn and be managed over SSH with sudo.
# python3-apt: the benchmark's Ansible peer needs it on the hosts (its apt module), and both tools get the same image.
readonly BASE_PACKAGES=openssh-server,systemd,systemd-sysv,dbus,iproute2,ca-certificates,sudo,procps,netbase,python3-apt
# Only downloaded (never installed) into the image: what the product installs, what the --firewall modes
# install, and the SMTP/TLS clients the e2e tests run inside a host. fail2ban reads the journal through
# python3-systemd, which is only a Recommends of it.
readonly PREFETCH_PACKAGES=(postfix dovecot-core dovecot-imapd dovecot-pop3d opendkim fail2ban python3-systemd policyd-rate-limit
  nftables ufw firewalld openssl swaks libnet-ssleay-perl libauthen-sasl-perl lego)

image_hash() {
  printf '%s\n' "$IMAGE_FORMAT_VERSION" "$BASE_PACKAGES" "${PREFETCH_PACKAGES[*]}" | sha256sum | cut -c1-12
}

image_dir() {
  printf '%s/%s-%s\n' "$IMAGE_ROOT" "$1" "$(image_hash)"
}

# Print the image directory for RELEASE, building it first if needed. Safe to call concurrently: one caller
# builds under a per-image lock, the others wait and then reuse its result.
image_ensure() {
  local release=$1 dir lock
  validate_release "$release"
  dir=$(image_dir "$release")
  # Cheap when all is installed (command -v only); `up` needs systemd-nspawn even when the image is cached.
  ensure_host_packages
  if [[ ! -d $dir ]]; then
    lock_file "$dir.lock" lock
    [[ -d $dir ]] || image_build "$release" "$dir"
    unlock_file "$lock"
  fi
  printf '%s\n' "$dir"
}

image_build() {
  local release=$1 dir=$2 tmp="$2.tmp" start
  start=$(now)
  # A crashed earlier build may have left a partial tree; we hold the lock, so nobody else is using it.
  image_remove_tree "$tmp"
  trap 'image_remove_tree "'"$tmp"'"' EXIT
  BUILD_LOG="$IMAGE_ROOT/$release-build.log"
  : >"$BUILD_LOG"
  log "building the $release image (once per version; about 3 minutes)"
  quietly "debootstrap $release" "$BUILD_LOG" debootstrap --variant=minbase --include="$BASE_PACKAGES" "$release" "$tmp" "$MIRROR"
  image_configure "$release" "$tmp"
  image_prefetch "$tmp"
  image_seal "$tmp"
  printf 'release=%s\nhash=%s\nbuilt=%s\n' "$release" "$(image_hash)" "$(date -u +%FT%TZ)" \
    >"$tmp/etc/mail-submission-sandbox-image"
  # rename(2) is atomic: other callers see either no image or a complete one.
  mv -T "$tmp" "$dir"
  trap - EXIT
  log "built $dir in $(elapsed_since "$start") s, $(du -sh "$dir" | cut -f1)"
}

# Remove a partial image tree. A killed debootstrap can leave /proc mounted inside it: unmount (deepest
# first), and never let rm cross into a mount (--one-file-system).
image_remove_tree() {
  local tree=${1:?tree required} mnt
  [[ -e $tree ]] || return 0
  findmnt -rn -o TARGET | grep -F -- "$tree/" | sort -r | while read -r mnt; do umount "$mnt"; done
  rm -rf --one-file-system "$tree"
}

image_configure() {
  local release=$1 root=${2:?image root required}
  # deb822 sources with updates and security, like a real server; no Signed-By because the keyring package
  # installs its keys in trusted.gpg.d on both releases.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $release $release-updates
Components: main

Types: deb
URIs: $SECURITY_MIRROR
Suites: $release-security
Components: main
EOF
  # Offline hosts: fail at once rather than retry, and keep every .deb that apt fetched (the cache is the repo).
  cat >"$root/etc/apt/apt.conf.d/90mail-submission-sandbox" <<'EOF'
Acquire::Retries "0";
Acquire::http::Timeout "5";
APT::Keep-Downloaded-Packages "true";
Binary::apt::APT::Keep-Downloaded-Packages "true";
EOF
  # The daily apt jobs would run `apt-get update` (which fails offline) and take the dpkg lock while a test
  # is installing packages.
  ln -sf /dev/null "$root/etc/systemd/system/apt-daily.timer"
  ln -sf /dev/null "$root/etc/systemd/system/apt-daily-upgrade.timer"
  cat >"$root/etc/ssh/sshd_config.d/10-sandbox.conf" <<'EOF'
# Sandbox hosts: one ed25519 host key generated per host, key-only logins.
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
}

# Last step, after the prefetch (which still needs the build machine's DNS): strip per-machine identity.
image_seal() {
  local root=${1:?image root required}
  # Every host gets its own SSH host key at `up`; none is shipped in the image, so none can be reused.
  rm -f "$root"/etc/ssh/ssh_host_*
  # No DNS on an offline host; a resolv.conf without servers makes lookups fail fast. rm first: debootstrap
  # may have copied a symlink, and writing through it would change this machine's file.
  rm -f "$root/etc/resolv.conf"
  printf '# sandbox host: offline, no DNS\n' >"$root/etc/resolv.conf"
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
}

# Download (not install) the prefetch list into the image's apt cache, resolving each package alone and all
# together, with and without Recommends, so that whichever of these a caller installs later is fully cached.
image_prefetch() {
  local root=${1:?image root required}
  quietly "prefetching ${PREFETCH_PACKAGES[*]}" "$BUILD_LOG" image_prefetch_all "$root"
  # Prove it: --print-uris lists only what is not in the cache yet.
  if [[ -n $(image_chroot "$root" apt-get install -qq --print-uris "${PREFETCH_PACKAGES[@]}") ]]; then
    die "prefetch incomplete in $root"
  fi
  log "apt cache: $(find "$root/var/cache/apt/archives" -name '*.deb' | wc -l) .debs," \
    "$(du -sh "$root/var/cache/apt/archives" | cut -f1)"
}

image_prefetch_all() {
  local root=$1 pkg
  image_chroot "$root" apt-get update -q --error-on=any
  image_chroot "$root" apt-get install -y -q --download-only "${PREFETCH_PACKAGES[@]}"
  for pkg in "${PREFETCH_PACKAGES[@]}"; do
    image_chroot "$root" apt-get install -y -qq --download-only "$pkg"
    image_chroot "$root" apt-get install -y -qq --download-only --no-install-recommends "$pkg"
  done
}

# Run apt in the image with a plain chroot. Only downloads happen here: no maintainer script runs, so no daemon
# can start (no policy-rc.d needed) and nothing needs /proc or /dev mounted into the tree.
image_chroot() {
  local root=${1:?image root required}
  shift
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive \
    "$@"
}
