#!/bin/bash
# npm run build: index.ts, components/ and verify/ compiled to dist/ (JavaScript and .d.ts), with the host scripts
# beside the modules that read them (components/host/program.ts reads them relative to its own directory). `tsc -b`
# rebuilds only what changed: a no-op build takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

node_modules/.bin/tsc -b tsconfig.build.json

while IFS= read -r -d '' script; do
  install -D -m 0644 "$script" "dist/$script"
done < <(find components -type f -name '*.sh' -print0)

# A renamed or deleted source leaves its old output behind, which would still load and ship.
while IFS= read -r -d '' out; do
  case $out in
    *.d.ts) source=${out%.d.ts}.ts ;;
    *.js) source=${out%.js}.ts ;;
    *) source=$out ;;
  esac
  [ -e "${source#dist/}" ] || rm -f -- "$out"
done < <(find dist -type f \( -name '*.js' -o -name '*.d.ts' -o -name '*.sh' \) -print0)

# components/program.ts compares its sources with this: one newer than the stamp was never built.
touch dist/.build-stamp
