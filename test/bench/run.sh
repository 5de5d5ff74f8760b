#!/bin/bash
# npm run bench [-- --quick]: the bench with its own engine state and the commit it measures.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (the sandbox hosts need systemd-nspawn)" >&2; exit 1; }
command -v ansible-playbook >/dev/null || { echo "bench: ansible-playbook is missing: run 'bash scripts/setup.sh' first" >&2; exit 1; }
export MS_E2E_STATE_DIR=/tmp/mail-submission-bench-state
export BENCH_COMMIT
BENCH_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([ -z "$(git status --porcelain 2>/dev/null)" ] || echo "+changes")
rm -rf "$MS_E2E_STATE_DIR"
exec npx ts-node --transpile-only test/bench/bench.ts "$@"
