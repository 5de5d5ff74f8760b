#!/bin/bash
# Sets up a Debian 12 or 13 machine for this project (as root), then runs one of its jobs:
#   bash scripts/setup.sh          set up only: Debian packages, Node.js 22, npm dependencies, the build, the Pulumi engine
#   bash scripts/setup.sh dev      ... then boot the sandbox host and deploy the dev stack (npm run dev:up)
#   bash scripts/setup.sh test     ... then run every test: types, shellcheck, unit, end-to-end (npm run test:all)
# Everything comes from Debian's mirror, the npm registry and the Go module proxy. Each phase prints a line when it
# starts and when it ends; the tools' own output goes to the logs under /var/cache/mail-submission/logs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Client tools of the tests and the dev job, and what the sandbox and the engine build need. swaks needs
# Net::SSLeay for TLS and Authen::SASL for AUTH, which --no-install-recommends would leave out, so they are named.
# python3-dkim is the DKIM verifier of the e2e suite; Ed25519 signatures need python3-nacl beside it. python3-venv:
# the Python example makes its virtualenv with it (where python3 is Debian's).
# pebble (the ACME test server), knot and knot-dnsutils (its DNS, updated over RFC 2136) serve the ACME e2e suite;
# lego's own flag parser checks the arguments the acme mode renders.
APT_PACKAGES=(ca-certificates curl unzip openssl openssh-client shellcheck swaks libnet-ssleay-perl libauthen-sasl-perl
  testssl.sh debootstrap systemd-container iptables iproute2 kmod ansible python3-dkim python3-nacl python3-venv
  pebble knot knot-dnsutils lego)
CACHE=/var/cache/mail-submission
LOGS=$CACHE/logs
ENGINE_KIT=../shared/pulumi-engine/build.sh

log() { printf 'setup: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=scripts/lib/quietly.sh
source scripts/lib/quietly.sh
# shellcheck source=scripts/lib/toolchains.sh
source scripts/lib/toolchains.sh

install_debian_packages() {
  local -a missing=()
  local p installed
  installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 2>/dev/null | awk '$1 == "ii" { print $2 }')
  for p in "${APT_PACKAGES[@]}"; do grep -qxF "$p" <<<"$installed" || missing+=("$p"); done
  if [ ${#missing[@]} -eq 0 ]; then log "Debian packages: all present"; return 0; fi
  quietly "apt-get update" "$LOGS/apt.log" apt-get update -q
  # DEBIAN_FRONTEND: no questions; the apt-utils notice ("delaying package configuration") is harmless and logged.
  quietly "installing ${missing[*]}" "$LOGS/apt.log" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_node_modules() {
  # npm ci wipes node_modules; skip it when the lock file has not changed since the last install.
  if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
    log "npm dependencies: up to date"
    return 0
  fi
  quietly "npm ci" "$LOGS/npm.log" npm ci --no-audit --no-fund
}

# Pulumi.yaml's main is the compiled program: after setup, `pulumi up` works in this checkout as it is.
build_program() {
  quietly "npm run build (the program and verify, compiled to dist/)" "$LOGS/npm.log" bash scripts/build.sh
}

# The Pulumi engine: a `pulumi` already on PATH (a user's machine) as it is; otherwise the engine kit next to this
# project, built with Go; otherwise there is no way to get one here.
engine_dir() {
  local existing
  if existing=$(real_dir pulumi) && [[ $existing != /var/cache/pulumi-engine/* ]]; then
    printf '%s\n' "$existing"
    return 0
  fi
  [ -f "$ENGINE_KIT" ] || die "no Pulumi CLI on PATH: install it (https://www.pulumi.com/docs/install/), then run this again"
  local go out=$CACHE/engine.path
  go=$(go_dir) || die "no Go >= 1.25 for the Pulumi engine kit, and none could be fetched from the Go module proxy"
  # shellcheck disable=SC2016 # expanded by the inner bash
  quietly "building the Pulumi engine (cold: about 15 minutes; warm: a second)" "$LOGS/engine.log" \
    env PATH="$go:$PATH" bash -c 'bash "$1" >"$2"' engine "$ENGINE_KIT" "$out"
  cat "$out"
}

# The tests' host images (one per Debian release, ~3 min each when cold) are built in the background while the
# engine builds: both are slow, and they wait on different things (the mirror, the Go module proxy and the CPU).
start_images() {
  (bash test/sandbox/sandbox.sh image bookworm && bash test/sandbox/sandbox.sh image trixie) &
  IMAGES_PID=$!
}
wait_images() {
  [ -n "${IMAGES_PID:-}" ] || return 0
  wait "$IMAGES_PID" || die "building the sandbox images failed (see the lines above and $CACHE/images/*-build.log)"
}

main() {
  [ "$(id -u)" -eq 0 ] || die "run as root: the sandbox hosts need systemd-nspawn and network namespaces"
  local start node_bin engine
  start=$(now)
  mkdir -p "$LOGS"
  install_debian_packages
  if [ "${1:-}" = test ]; then start_images; fi
  node_bin=$(node_dir) || die "no Node.js >= 22, and none could be fetched from the npm registry"
  link_tools "$node_bin" node npm npx
  export PATH="$node_bin:$PATH"
  install_node_modules
  build_program
  engine=$(engine_dir)
  link_tools "$engine" pulumi pulumi-language-nodejs pulumi-language-python pulumi-language-yaml
  export PATH="$engine:$PATH"
  wait_images
  log "ready in $(elapsed_since "$start") s: node $(node --version), $(pulumi version) ($(command -v pulumi)); logs in $LOGS"
  case "${1:-}" in
    "") ;;
    dev) npm run --silent dev:up ;;
    test) npm run --silent test:all ;;
    *) die "unknown job '$1' (dev or test)" ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
