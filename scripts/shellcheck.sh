#!/bin/bash
# Lints every shell script. Step scripts run as lib.sh + step.sh in one text on the host, so they are checked
# exactly that way; the others are checked as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v shellcheck >/dev/null || { echo "shellcheck is not installed (apt-get install shellcheck)" >&2; exit 1; }
status=0
steps=components/scripts
for step in "$steps"/*.sh; do
  case "${step##*/}" in
    lib.sh | nft-sync.sh) continue ;;
  esac
  echo "shellcheck $step (with lib.sh)"
  cat "$steps/lib.sh" "$step" | shellcheck -s bash - || status=1
done
while IFS= read -r file; do
  echo "shellcheck $file"
  shellcheck -x "$file" || status=1
done < <(find components/scripts/nft-sync.sh scripts test .ci -type f \( -name '*.sh' -o -name run \) 2>/dev/null | sort)
exit "$status"
