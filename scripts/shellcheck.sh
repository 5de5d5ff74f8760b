#!/bin/bash
# Lints every shell script. The host programs are linted exactly as the steps assemble them (STEP=…, the contract's
# variables, lib.sh, the concern's files, then `main`: scripts/hostPrograms.ts writes them out), so shellcheck sees
# every variable and helper where the host does; the other scripts are checked as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v shellcheck >/dev/null || { echo "shellcheck is not installed (apt-get install shellcheck)" >&2; exit 1; }
status=0
programs=$(mktemp -d)
trap 'rm -rf "$programs"' EXIT
node -r ts-node/register/transpile-only scripts/hostPrograms.ts "$programs"
for program in "$programs"/*.sh; do
  echo "shellcheck components/ ${program##*/} (the host program as a step sends it)"
  shellcheck -s bash "$program" || status=1
done
while IFS= read -r file; do
  echo "shellcheck $file"
  shellcheck -x "$file" || status=1
done < <(find scripts test .ci -type f \( -name '*.sh' -o -name run \) 2>/dev/null | sort)
exit "$status"
