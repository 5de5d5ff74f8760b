# shellcheck shell=bash
# Long phases that print one line when they start, one every 20 s while they run, and one when they end, with the
# duration; the tool's own output goes to a log file that those lines name, and its last lines are shown only if
# it fails. Sourced by scripts/*.sh and test/sandbox/*.sh, which define log() (their own prefix) first.

now() { date +%s.%3N; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# quietly LABEL LOGFILE COMMAND...
quietly() {
  local label=$1 logfile=$2 start pid rc=0 offset
  shift 2
  start=$(now)
  mkdir -p "$(dirname "$logfile")"
  # The log is appended to across runs: on failure, show only what this run wrote.
  offset=$(stat -c %s "$logfile" 2>/dev/null || echo 0)
  log "$label (log: $logfile)"
  "$@" >>"$logfile" 2>&1 </dev/null &
  pid=$!
  while ! wait_for_pid "$pid" 20; do
    log "$label: still running, $(elapsed_since "$start") s"
  done
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    log "$label failed (exit $rc) after $(elapsed_since "$start") s; its last lines in $logfile:"
    tail -c "+$((offset + 1))" "$logfile" | tail -n 20 >&2
    return "$rc"
  fi
  log "$label: done in $(elapsed_since "$start") s"
}

# wait_for_pid PID SECONDS: true once PID has exited, false if it still runs after SECONDS.
wait_for_pid() {
  local pid=$1 i
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}
