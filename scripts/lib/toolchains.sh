# shellcheck shell=bash
# Node.js, Go and the Pulumi engine for a machine that may have none of them, fetched only from the registries
# this project may use (the npm registry, the Go module proxy) and checked against the checksums those registries
# publish. Sourced by scripts/setup.sh and by its unit test, which points the URLs at a local server. Each function
# prints the directory to put on PATH.

NODE_VERSION=22.23.5
NPM_VERSION=11.19.1
# Go for the engine kit's build (it needs >= 1.25; Debian 12 ships 1.19, Debian 13 ships 1.24).
GO_VERSION=1.25.14
NPM_REGISTRY=${NPM_REGISTRY:-https://registry.npmjs.org}
GO_PROXY_URL=${GO_PROXY_URL:-https://proxy.golang.org}
TOOLCHAIN_CACHE=${TOOLCHAIN_CACHE:-/var/cache/mail-submission}
# /usr/local/bin comes before /usr/bin on Debian's PATH, so links there make a fresh shell find the tools set up here.
LINK_DIR=${LINK_DIR:-/usr/local/bin}

machine_arch() {
  case "$(uname -m)" in
    x86_64) echo x64 ;;
    aarch64) echo arm64 ;;
    *) echo "unsupported-$(uname -m)" ;;
  esac
}

# node_dir: a node >= 22 already on PATH, or Node's own build from the npm registry (package node-linux-<arch>,
# which carries the node binary only) with npm beside it (package npm), both fetched without npm and checked
# against the registry's sha512 integrity.
node_dir() {
  local found
  # The directory of the node binary itself, not of a link to it (such as ours in $LINK_DIR from an earlier run),
  # so that npm is looked for beside the real node and no link is ever made onto itself.
  if found=$(real_dir node) && [ -x "$found/npm" ] &&
    [ "$("$found/node" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 22 ]; then
    printf '%s\n' "$found"
    return 0
  fi
  local dir=$TOOLCHAIN_CACHE/node/$NODE_VERSION tool
  if [ ! -x "$dir/bin/npm" ]; then
    log "fetching Node.js $NODE_VERSION and npm $NPM_VERSION from $NPM_REGISTRY (~60 MB)"
    rm -rf "$dir.new"
    fetch_registry_package "node-linux-$(machine_arch)" "$NODE_VERSION" "$dir.new" || return 1
    fetch_registry_package npm "$NPM_VERSION" "$dir.new/lib/node_modules/npm" || return 1
    # Wrappers rather than links: npm's scripts start with `#!/usr/bin/env node`, which could find an older node.
    for tool in npm npx; do
      printf '#!/bin/sh\nexec "%s/bin/node" "%s/lib/node_modules/npm/bin/%s-cli.js" "$@"\n' "$dir" "$dir" "$tool" >"$dir.new/bin/$tool"
      chmod 0755 "$dir.new/bin/$tool"
    done
    mkdir -p "${dir%/*}"
    rm -rf "$dir"
    mv "$dir.new" "$dir"
  fi
  printf '%s\n' "$dir/bin"
}

# real_dir TOOL: the directory of the file that TOOL on PATH resolves to, through any links.
real_dir() {
  local path
  path=$(command -v "$1") || return 1
  path=$(readlink -f "$path") || return 1
  [ -x "$path" ] || return 1
  dirname "$path"
}

# link_tools DIR TOOL...: a link in $LINK_DIR to each DIR/TOOL. Never over a file that is not a link, never a link
# onto itself; a link that already resolves to the same file is left as it is, and a broken one (dangling, or a
# loop left by an older setup) is replaced.
link_tools() {
  local dir=$1 tool real target
  shift
  for tool; do
    [ -e "$dir/$tool" ] || continue
    real=$(readlink -f "$dir/$tool")
    target=$LINK_DIR/$tool
    if [ -e "$target" ] && [ ! -L "$target" ]; then
      log "warning: $target exists and is not ours; leaving it (put $dir first on PATH to use ours)"
      continue
    fi
    [ "$(readlink -f "$target" 2>/dev/null)" = "$real" ] && [ -e "$target" ] && continue
    ln -sfn "$real" "$target"
  done
}

# fetch_registry_package NAME VERSION DEST: the package's tarball, checked against the registry's integrity,
# unpacked into DEST.
fetch_registry_package() {
  local name=$1 version=$2 dest=$3 meta tarball integrity tmp
  meta=$(curl -fsS "$NPM_REGISTRY/$name/$version") || { log "cannot read $name $version from $NPM_REGISTRY"; return 1; }
  # One version's document: dist.tarball and dist.integrity each appear once.
  tarball=$(sed -n 's/.*"tarball": *"\([^"]*\)".*/\1/p' <<<"$meta")
  integrity=$(sed -n 's/.*"integrity": *"\(sha512-[^"]*\)".*/\1/p' <<<"$meta")
  if [ -z "$tarball" ] || [ -z "$integrity" ]; then
    log "the registry's entry for $name $version has no tarball or integrity"
    return 1
  fi
  tmp=$(mktemp -d)
  curl -fsS -o "$tmp/package.tgz" "$tarball" || { log "cannot download $tarball"; rm -rf "$tmp"; return 1; }
  if [ "sha512-$(sha512sum <"$tmp/package.tgz" | cut -d' ' -f1 | hex_to_base64)" != "$integrity" ]; then
    log "$tarball does not match the registry's integrity $integrity"
    rm -rf "$tmp"
    return 1
  fi
  tar xzf "$tmp/package.tgz" -C "$tmp"
  mkdir -p "${dest%/*}"
  mv "$tmp/package" "$dest"
  rm -rf "$tmp"
}

# go_dir: a go >= 1.25 on PATH, or the Go toolchain as the go command itself would fetch it: the module
# golang.org/toolchain from the module proxy, checked against the checksum database (through the proxy) with the
# same directory hash (h1:) that go verifies.
go_dir() {
  if command -v go >/dev/null && go_at_least_1_25 "$(go env GOVERSION 2>/dev/null || true)"; then
    dirname "$(command -v go)"
    return 0
  fi
  local version=v0.0.1-go$GO_VERSION.linux-amd64 dir=$TOOLCHAIN_CACHE/go/$GO_VERSION tmp want got
  [ "$(machine_arch)" = x64 ] || version=v0.0.1-go$GO_VERSION.linux-$(machine_arch)
  if [ ! -x "$dir/bin/go" ]; then
    log "fetching Go $GO_VERSION from $GO_PROXY_URL for the engine kit (~65 MB)"
    tmp=$(mktemp -d)
    curl -fsS -o "$tmp/go.zip" "$GO_PROXY_URL/golang.org/toolchain/@v/$version.zip" || { log "cannot download Go $GO_VERSION from $GO_PROXY_URL"; rm -rf "$tmp"; return 1; }
    want=$(curl -fsS "$GO_PROXY_URL/sumdb/sum.golang.org/lookup/golang.org/toolchain@$version" | awk -v v="$version" '$2 == v { print $3 }') || true
    mkdir "$tmp/x"
    unzip -q "$tmp/go.zip" -d "$tmp/x"
    got=h1:$(cd "$tmp/x" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum | cut -d' ' -f1 | hex_to_base64)
    if [ -z "$want" ] || [ "$got" != "$want" ]; then
      log "Go $GO_VERSION from $GO_PROXY_URL does not match the checksum database (${want:-no entry}, got $got)"
      rm -rf "$tmp"
      return 1
    fi
    mkdir -p "${dir%/*}"
    rm -rf "$dir"
    mv "$tmp/x/golang.org/toolchain@$version" "$dir"
    chmod -R a+rX "$dir"
    chmod a+x "$dir"/bin/* "$dir"/pkg/tool/*/* 2>/dev/null || true
    rm -rf "$tmp"
  fi
  printf '%s\n' "$dir/bin"
}

go_at_least_1_25() {
  [[ $1 =~ ^go1\.([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 25 ]
}

# Hex digits on stdin, their bytes in base64 on stdout (without xxd, which a bare Debian lacks).
hex_to_base64() {
  local hex escaped="" i
  hex=$(tr -d ' \n')
  for ((i = 0; i < ${#hex}; i += 2)); do escaped+="\\x${hex:i:2}"; done
  # shellcheck disable=SC2059 # the format is the data on purpose: \xHH escapes
  printf "$escaped" | base64 -w0
}
