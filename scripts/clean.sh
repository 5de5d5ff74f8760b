#!/bin/bash
# npm run clean: removes what setup, the dev job, the tests and the bench left on this machine: sandbox hosts, the
# cached host images, Node.js and Go fetched by setup, logs, local Pulumi state, and the links setup put in
# /usr/local/bin. It keeps the Pulumi engine kit's build (shared with other projects) and says how to remove it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "clean: run as root" >&2; exit 1; }

log() { printf 'clean: %s\n' "$*" >&2; }

if [ -d /var/lib/mail-submission-sandbox ]; then bash test/sandbox/sandbox.sh down --all; fi
for dir in /var/cache/mail-submission /var/lib/mail-submission-sandbox /var/lib/mail-submission-dev \
  /tmp/mail-submission-e2e-state /tmp/mail-submission-bench-state; do
  [ -e "$dir" ] || continue
  log "removing $dir ($(du -sh "$dir" 2>/dev/null | cut -f1))"
  rm -rf --one-file-system "$dir"
done
for link in /usr/local/bin/node /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/pulumi /usr/local/bin/pulumi-language-*; do
  [ -L "$link" ] || continue
  case "$(readlink "$link")" in
    /var/cache/mail-submission/* | /var/cache/pulumi-engine/*) rm -f "$link" && log "removed the link $link" ;;
  esac
done
log "kept the Pulumi engine kit's build: /var/cache/pulumi-engine, plugins in ~/.pulumi, Go modules in $(go env GOMODCACHE 2>/dev/null || echo "$HOME/go/pkg/mod")"
log "to remove those as well: rm -rf /var/cache/pulumi-engine ~/.pulumi && go clean -modcache"
