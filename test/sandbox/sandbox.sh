#!/usr/bin/env bash
# Throwaway Debian "sandbox hosts" for end-to-end tests and the README's local demo: systemd-nspawn machines
# booted from a cached debootstrap image, each in its own network namespace on bridge msbr0 (10.231.0.0/24),
# reachable only from this machine, over SSH with a per-run key and a pinned per-host host key.
#
#   sandbox.sh image <bookworm|trixie>
#   sandbox.sh up <name> [--release bookworm|trixie] [--user root|deploy] [--firewall none|nftables|nftables-drop|ufw|firewalld]
#   sandbox.sh down <name>... | down --all
#   sandbox.sh list
#   sandbox.sh ssh <name> [command...]
#
# `up` prints one JSON object on stdout; everything else (progress, timings) goes to stderr.

# Strict mode: a failed step must stop the run (and `up` then tears the half-made host down), not carry on.
set -euo pipefail

SANDBOX_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SANDBOX_DIR
# shellcheck source=common.sh
source "$SANDBOX_DIR/common.sh"
# shellcheck source=image.sh
source "$SANDBOX_DIR/image.sh"
# shellcheck source=net.sh
source "$SANDBOX_DIR/net.sh"
# shellcheck source=host.sh
source "$SANDBOX_DIR/host.sh"
# shellcheck source=provision.sh
source "$SANDBOX_DIR/provision.sh"
# shellcheck source=teardown.sh
source "$SANDBOX_DIR/teardown.sh"

usage() {
  sed -n '6,10s/^#   /usage: /p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

cmd_up() {
  local name=${1:-} release=bookworm user=root firewall=none
  [[ -n $name ]] || usage
  shift
  while (($#)); do
    case "$1" in
      --release) release=${2:?--release needs a value} ;;
      --user) user=${2:?--user needs a value} ;;
      --firewall) firewall=${2:?--firewall needs a value} ;;
      *) die "unknown option '$1'" ;;
    esac
    shift 2
  done
  validate_name "$name"
  validate_release "$release"
  [[ $user == root || $user == deploy ]] || die "bad --user '$user': use root or deploy"
  [[ $firewall =~ ^(none|nftables|nftables-drop|ufw|firewalld)$ ]] || die "bad --firewall '$firewall': use none, nftables, nftables-drop, ufw or firewalld"
  host_up "$name" "$release" "$user" "$firewall"
}

cmd_down() {
  local name
  (($#)) || usage
  if [[ $1 == --all ]]; then
    host_down_all
    return
  fi
  for name in "$@"; do
    validate_name "$name"
    host_down "$name"
  done
}

main() {
  local verb=${1:-}
  (($#)) && shift
  case "$verb" in
    image)
      require_root
      validate_release "${1:-}"
      image_ensure "$1" >/dev/null
      log "image ready: $(image_dir "$1")"
      ;;
    up) require_root && cmd_up "$@" ;;
    down) require_root && cmd_down "$@" ;;
    list) host_list ;;
    ssh)
      validate_name "${1:-}"
      host_ssh_exec "$@"
      ;;
    __launch) host_launch_exec "$@" ;; # internal: the detached process that becomes systemd-nspawn
    *) usage ;;
  esac
}

main "$@"
