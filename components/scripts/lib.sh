# shellcheck shell=bash
# Shared helpers, prepended to every step script (the component sends lib.sh + step.sh as one `bash -c` text).
# Strict mode: a failed command must fail the step, so that `pulumi up` reports it instead of carrying on.
set -euo pipefail
umask 022
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

STEP=${0##*/}
STATE_DIR=/var/lib/mail-submission

log() { printf '%s: %s\n' "$STEP" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The step's data arrives on stdin as sections opened by "#@ name" (components/render/bundle.ts). It is kept in a
# private temp file: it may hold key material, which must never appear in argv or logs.
BUNDLE=$(umask 077 && mktemp)
SCRATCH=$(umask 077 && mktemp -d)
trap 'rm -rf "$BUNDLE" "$SCRATCH"' EXIT
read_bundle() { if [ -t 0 ]; then : >"$BUNDLE"; else cat >"$BUNDLE"; fi; }
section() { awk -v want="$1" '/^#@ /{cur=substr($0,4); next} cur==want' "$BUNDLE"; }
has_section() { grep -qxF "#@ $1" "$BUNDLE"; }

# put_file MODE OWNER:GROUP DEST < content: replace DEST atomically (temp file + rename in the same directory)
# and only when its content or mode differs; then sets CHANGED=yes. Called plainly, so that errexit stays on.
# shellcheck disable=SC2034 # read by the steps that reload a daemon
CHANGED=no
put_file() {
  local mode=$1 owner=$2 dest=$3 tmp
  tmp=$(mktemp "$dest.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  chown "$owner" "$tmp"
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest" && [ "$(stat -c '%a %U:%G' "$dest")" = "${mode#0} $owner" ]; then
    rm -f "$tmp"
    return 0
  fi
  mv -f "$tmp" "$dest"
  # shellcheck disable=SC2034 # read by the steps that reload a daemon
  CHANGED=yes
}

# backup_once FILE: keep the host's original FILE (as it was before our first change) for `pulumi destroy`.
backup_once() {
  local file=$1 copy
  copy="$STATE_DIR/orig${file}"
  [ -e "$copy" ] && return 0
  mkdir -p "${copy%/*}"
  cp -p "$file" "$copy"
}
orig_of() { printf '%s\n' "$STATE_DIR/orig$1"; }

# snapshot/restore: the state of a set of files before this run, to roll back if validation fails.
snapshot() {
  local f
  for f; do
    mkdir -p "$SCRATCH/snap${f%/*}"
    if [ -e "$f" ]; then cp -a "$f" "$SCRATCH/snap$f"; else : >"$SCRATCH/snap$f.absent"; fi
  done
}
restore_snapshot() {
  local f
  for f; do
    rm -rf "$f"
    [ -e "$SCRATCH/snap$f.absent" ] || cp -a "$SCRATCH/snap$f" "$f"
  done
}

service_active() { systemctl is-active --quiet "$1" 2>/dev/null; }

# probe_tls PORT SNI [starttls]: completes a TLS handshake on loopback and prints the SHA-256 fingerprint of
# the certificate served; prints nothing if no handshake completed within 10 s.
probe_tls() {
  local port=$1 sni=$2 out
  local -a extra=()
  [ "${3:-}" = starttls ] && extra=(-starttls smtp)
  out=$(timeout 10 openssl s_client "${extra[@]}" -connect "127.0.0.1:$port" -servername "$sni" </dev/null 2>/dev/null) || true
  printf '%s\n' "$out" | openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'
}

# smtp_ehlo_plain PORT: the EHLO reply of a cleartext session, one capability per line.
smtp_ehlo_plain() {
  local port=$1 line
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  IFS= read -r -t 10 line <&3 || { exec 3>&-; return 1; }
  printf 'EHLO probe.invalid\r\n' >&3
  while IFS= read -r -t 10 line <&3; do
    line=${line%$'\r'}
    printf '%s\n' "$line"
    [ "${line:3:1}" = " " ] && break
  done
  printf 'QUIT\r\n' >&3
  exec 3>&-
}

# smtp_ehlo_tls PORT SNI [starttls]: the EHLO reply once TLS is up.
smtp_ehlo_tls() {
  local port=$1 sni=$2
  local -a extra=()
  [ "${3:-}" = starttls ] && extra=(-starttls smtp)
  { sleep 1; printf 'EHLO probe.invalid\n'; sleep 2; printf 'QUIT\n'; } |
    timeout 15 openssl s_client "${extra[@]}" -connect "127.0.0.1:$port" -servername "$sni" -crlf -quiet 2>/dev/null |
    tr -d '\r' | grep -E '^250[- ]' || true
}

# Drops our state directory once nothing is left in it, so that `pulumi destroy` leaves no trace.
tidy_state() { [ -d "$STATE_DIR" ] && find "$STATE_DIR" -depth -type d -empty -delete; return 0; }
