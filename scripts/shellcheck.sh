#!/bin/bash
# Lints every shell script. A step runs on the host as one program (components/steps.ts: STEP=…, lib.sh, its
# helpers, the step's script, then `main`), so each step is checked that way, with every helper before it; the
# other scripts are checked as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v shellcheck >/dev/null || { echo "shellcheck is not installed (apt-get install shellcheck)" >&2; exit 1; }
status=0
steps=components/scripts
helpers=("$steps/lib.sh" "$steps/observe.sh" "$steps/smtp.sh" "$steps/rehearsal.sh")
for step in "$steps"/*.sh; do
  case "${step##*/}" in
    lib.sh | observe.sh | smtp.sh | rehearsal.sh | nft-sync.sh) continue ;;
  esac
  name=${step##*/}
  echo "shellcheck $step (as the step program)"
  { printf 'STEP=%s\n' "${name%.sh}"; cat "${helpers[@]}" "$step"; printf 'main "$@"\n'; } | shellcheck -s bash - || status=1
done
while IFS= read -r file; do
  echo "shellcheck $file"
  shellcheck -x "$file" || status=1
done < <(find components/scripts/nft-sync.sh scripts test .ci bench -type f \( -name '*.sh' -o -name run \) 2>/dev/null | sort)
exit "$status"
