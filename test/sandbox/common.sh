# shellcheck shell=bash
# Shared constants and helpers for the sandbox scripts. Sourced by sandbox.sh; defines only.
# The constants are used by the other files, which shellcheck does not see when checking this one alone.
# shellcheck disable=SC2034

# Where cached root filesystems live. Images are never deleted by these scripts (npm run clean does): building one
# costs about 3 minutes (166 s for bookworm, 198 s for trixie, measured 2026-12-01).
readonly IMAGE_ROOT=/var/cache/mail-submission/images
# What apt printed while installing this machine's prerequisites.
readonly APT_LOG=/var/cache/mail-submission/apt.log
# Per-host state: overlay upper/work dirs, the merged root, SSH keys, console log. Removed by `down`.
readonly STATE_ROOT=/var/lib/mail-submission-sandbox
# Serialises address allocation, network setup/teardown and the bridge's lifetime between concurrent callers.
readonly GLOBAL_LOCK="$STATE_ROOT/.lock"
# Parent of every host's cgroup, in the two hierarchies that systemd-nspawn uses on this hybrid-cgroup machine.
readonly CGROUP_PARENT=mail-submission-sandbox
readonly CGROUP_HIERARCHIES=(/sys/fs/cgroup/systemd /sys/fs/cgroup/unified)

readonly BRIDGE=msbr0
readonly SUBNET_PREFIX=10.231.0
readonly BRIDGE_ADDRESS="$SUBNET_PREFIX.1"
readonly NETNS_PREFIX=ms-
readonly VETH_PREFIX=msv

readonly MIRROR="${SANDBOX_MIRROR:-http://deb.debian.org/debian}"
readonly SECURITY_MIRROR="${SANDBOX_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

log() { printf 'sandbox: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# now, elapsed_since, quietly (long phases with a heartbeat and a log file).
# shellcheck source=scripts/lib/quietly.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/quietly.sh"

require_root() {
  [[ $EUID -eq 0 ]] || die "must run as root (it mounts overlays, creates network namespaces and cgroups)"
}

# A host name ends up in a hostname, a netns name and a cgroup path: keep it to a safe, short alphabet.
validate_name() {
  [[ ${1:-} =~ ^[a-z][a-z0-9-]{0,19}$ ]] || die "bad host name '${1:-}': use 1-20 of [a-z0-9-], starting with a letter"
}

validate_release() {
  case "${1:-}" in
    bookworm | trixie) ;;
    *) die "bad release '${1:-}': use bookworm or trixie" ;;
  esac
}

# Install what this machine needs to build and run hosts. apt-get update only when apt knows no candidate,
# because an update costs time and the machine's lists are usually fresh enough.
ensure_host_packages() {
  local -A wanted=([debootstrap]=debootstrap [systemd-nspawn]=systemd-container [iptables]=iptables
    [ssh]=openssh-client [ssh-keygen]=openssh-client [flock]=util-linux [ip]=iproute2)
  local cmd missing=()
  for cmd in "${!wanted[@]}"; do
    command -v "$cmd" >/dev/null || missing+=("${wanted[$cmd]}")
  done
  ((${#missing[@]} == 0)) && return 0
  # Captured first: under pipefail, `apt-cache | grep -q` fails when apt-cache dies of SIGPIPE after grep's match.
  if [[ ! $(apt-cache policy systemd-container 2>/dev/null) =~ Candidate:\ [0-9] ]]; then
    quietly "apt-get update" "$APT_LOG" apt-get update -q
  fi
  quietly "installing host prerequisites: ${missing[*]}" "$APT_LOG" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# Take an exclusive lock on FILE and store the fd in the variable named by $2. Callers must release it with
# unlock before starting anything long-lived: a daemon that inherits the fd would hold the lock forever.
lock_file() {
  local file=$1 fd
  mkdir -p "$(dirname "$file")"
  exec {fd}>"$file"
  flock "$fd"
  printf -v "$2" '%s' "$fd"
}
unlock_file() {
  local fd=$1
  exec {fd}>&-
}

