# shellcheck shell=bash
# Shared helpers of every step. The component sends a step to the host as one bash program on stdin
# (components/host/program.ts):
#   STEP=<name> / the contract's variables / lib.sh / its concern's files / main <action> <<'MAIL_SUBMISSION_BUNDLE' …
# Every path, port and service name comes from the contract's variables (components/host/contract.ts).
# so the command line is only `bash -s <action>`: it holds neither the script nor a secret, and the errors that
# @pulumi/command prints (command line included, three times) stay short.
# Strict mode: a failed command must fail the step, so that `pulumi up` reports it instead of carrying on.
set -euo pipefail
# Command substitutions fail the step too, not just the commands run directly.
shopt -s inherit_errexit
umask 022
export LC_ALL=C PATH=$HOST_SEARCH_PATH
: "${STEP:?the step program sets STEP}"

HOST_LABEL=$(hostname 2>/dev/null || echo host)

# A cut SSH connection must not stop a step half-way: hangups are ignored, and all output is collected in files,
# handed to the connection only at the end (where a closed pipe no longer matters). The step then either finishes
# or (when it fails) leaves the previous configuration, whatever happens to the connection.
trap '' HUP
SCRATCH=$(umask 077 && mktemp -d)
BUNDLE=$SCRATCH/bundle
# fd 3/4: the connection's stdout/stderr. From here on, tool output goes to $SCRATCH/tools (shown only on failure).
exec 3>&1 4>&2 >"$SCRATCH/tools" 2>&1

# note MESSAGE: one line of what the step did, printed (on stderr) when it succeeds.
note() { printf '%s: %s\n' "$STEP" "$*" >>"$SCRATCH/notes"; }
# result LINE: a line of the step's stdout (what the component reads back, e.g. backend=nftables).
result() { printf '%s\n' "$*" >>"$SCRATCH/stdout"; }

# die REASON [DETAILS]: fails the step. REASON is one line that says what failed, what was kept and what to do;
# DETAILS (the tool's own words) follow it, at most 20 lines. Nothing else is printed, so the reason comes first.
die() {
  {
    printf 'mail-submission %s on %s: %s\n' "$STEP" "$HOST_LABEL" "$1"
    if [ -n "${2:-}" ]; then awk 'NF { print "  | " $0; if (++n == 20) exit }' <<<"$2"; fi
  } >&4 2>/dev/null || true
  : >"$SCRATCH/reported"
  exit 1
}

# Runs last. Success: the notes and results go out. A failure that no die() explained: the command and the last
# lines of tool output, so that even an unexpected failure reads as one reason plus the evidence.
finish() {
  local rc=$1
  if [ "$rc" -eq 0 ]; then
    [ -f "$SCRATCH/notes" ] && cat "$SCRATCH/notes" >&4 2>/dev/null
    [ -f "$SCRATCH/stdout" ] && cat "$SCRATCH/stdout" >&3 2>/dev/null
  elif [ ! -e "$SCRATCH/reported" ]; then
    {
      printf 'mail-submission %s on %s: failed unexpectedly (exit %s) at: %s\n' "$STEP" "$HOST_LABEL" "$rc" "${FAILED_COMMAND:-?}"
      tail -n 20 "$SCRATCH/tools" | sed 's/^/  | /'
    } >&4 2>/dev/null
  fi
  rm -rf "$SCRATCH"
  return 0
}
set -E
trap 'FAILED_COMMAND=$BASH_COMMAND' ERR
trap 'finish $?' EXIT

# The step's data: sections opened by "#@ name" (components/host/bundle.ts), ending with "#@ end". It is kept in a
# private temp file: it may hold key material, which must never appear in argv or logs. A missing end marker means
# the data arrived cut short, and nothing may be applied from it.
read_bundle() {
  cat >"$BUNDLE"
  [ "$(tail -n 1 "$BUNDLE")" = "#@ end" ] ||
    die "the step's data arrived incomplete (connection cut?); nothing was changed; run pulumi up again"
}
section() { awk -v want="$1" '/^#@ /{cur=substr($0,4); next} cur==want' "$BUNDLE"; }
has_section() { grep -qxF -- "#@ $1" "$BUNDLE"; }

# One run of a step at a time per host: an interrupted `pulumi up` may leave a step running while the next `up`
# starts it again. Different steps own different files, so they may run side by side.
take_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/$STEP.lock"
  flock -w 600 9 || die "another run of this step has held its lock for 10 minutes; nothing was changed; run pulumi up again once it is done"
}

# checkpoint NAME: a named point inside a step where the e2e suite can hold the step (it creates
# $TEST_HOLD_DIR/hold-NAME, waits for NAME.reached, then cuts the SSH connection). Without that file,
# which only the suite creates, this does nothing.
checkpoint() {
  local hold=$TEST_HOLD_DIR/hold-$1
  [ -e "$hold" ] || return 0
  : >"$hold.reached"
  while [ -e "$hold" ]; do sleep 0.1; done
}

# main ACTION [TOKEN]: TOKEN numbers the runs that the drift read asked for (drift/read.ts); each run records it,
# with what the step owns right after it (its concern's observe.sh), so that the next drift read can tell what changed since.
main() {
  local token=${2:-0}
  [[ $token =~ ^[0-9]+$ ]] || die "the run token '$token' is not a number"
  read_bundle
  if has_section host; then HOST_LABEL=$(section host); fi
  take_lock
  case "${1:-apply}" in
    apply)
      apply
      [ "$RECORD_RUN" = no ] || record_run "$token"
      ;;
    remove)
      remove
      rm -f "$STATE_DIR/drift/$STEP" "$STATE_DIR/observed/$STEP"
      tidy_state
      ;;
    *) die "unknown action '${1:-}'" ;;
  esac
}

RECORD_RUN=yes
record_run() {
  mkdir -p "$STATE_DIR/drift" "$STATE_DIR/observed"
  printf '%s\n' "$1" >"$STATE_DIR/drift/$STEP"
  if declare -F "observe_$STEP" >/dev/null; then "observe_$STEP" >"$STATE_DIR/observed/$STEP"; fi
}

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

# keep PATH...: a copy of each PATH that exists (a file or a directory) as this run found it, for put_back; a path
# kept once stays as first found. kept PATH names the copy (absent: there was nothing).
kept() { printf '%s\n' "$SCRATCH/kept$1"; }
keep() {
  local p
  for p; do
    if [ -e "$p" ] && [ ! -e "$(kept "$p")" ]; then
      mkdir -p "$(kept "${p%/*}")"
      cp -a "$p" "$(kept "$p")"
    fi
  done
}
# put_back PATH...: each PATH as keep found it, or gone where there was nothing.
put_back() {
  local p
  for p; do
    rm -rf "$p"
    if [ -e "$(kept "$p")" ]; then cp -a "$(kept "$p")" "$p"; fi
  done
}

service_active() { systemctl is-active --quiet "$1" 2>/dev/null; }
# `systemctl enable` reloads systemd's view of units (about half a second): only when the unit is not enabled yet.
enable_service() { [ "$(systemctl is-enabled "$1" 2>/dev/null)" = enabled ] || systemctl enable --quiet "$1" 2>/dev/null || true; }

# reload_dovecot [RESTART]: our Dovecot instance re-reads its configuration; a running one is reloaded (its sessions
# go on), and where a reload cannot take the change (RESTART=yes: its unit changed) or fails, it is restarted:
# Dovecot 2.3.19's master dies (SIGSEGV) reloading a configuration that takes the anvil-auth-penalty listener out.
# The host's own dovecot.service is never touched. Postfix is reloaded after it (release_auth_clients).
reload_dovecot() {
  enable_service "$DOVECOT_UNIT_NAME"
  if [ "${1:-no}" = yes ] || ! service_active "$DOVECOT_UNIT_NAME" || ! systemctl reload "$DOVECOT_UNIT_NAME"; then
    systemctl restart "$DOVECOT_UNIT_NAME"
  fi
  release_auth_clients
}

# Each smtpd process keeps its connection to the auth process it first reached, and the auth process of before a
# reload only exits once its clients have gone (shutdown_clients = no: never killed mid-request). A graceful
# `postfix reload` makes smtpd processes exit after their session, so new ones reach the new auth process and no
# old setting outlives the session that was under way.
release_auth_clients() {
  if command -v postfix >/dev/null && postfix status >/dev/null 2>&1; then postfix reload; fi
}

# wait_for_socket PATH: up to 10 s for a daemon we (re)started to open its socket.
wait_for_socket() {
  local tries=50
  while [ "$tries" -gt 0 ]; do
    [ -S "$1" ] && return 0
    sleep 0.2
    tries=$((tries - 1))
  done
  return 1
}

# Drops our state directory once nothing is left in it, so that `pulumi destroy` leaves no trace.
tidy_state() { [ -d "$STATE_DIR" ] && find "$STATE_DIR" -depth -type d -empty -delete; return 0; }
