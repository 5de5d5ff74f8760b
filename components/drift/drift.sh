# The drift read: observes what each step owns (observe.sh) and compares it with what the step recorded right after
# its last run. Read-only. Prints, for each step, the token of its last run and every item that changed since:
#   token <step> <n>
#   drift <step> <item>
#   notice <text>          what the postfix step would take over from the operator (a master.cf entry on our port)
# Sections: steps (the steps to look at), ports (our Postfix ports).

# A read records nothing.
RECORD_RUN=no

apply() {
  local step recorded now
  for step in $(section steps); do
    result "token $step $(cat "$STATE_DIR/drift/$step" 2>/dev/null || echo 0)"
    declare -F "observe_$step" >/dev/null || continue
    recorded=$STATE_DIR/observed/$step
    if [ ! -f "$recorded" ]; then
      result "drift $step (no record of its last run on this host)"
      continue
    fi
    now=$("observe_$step")
    # Items whose digest differs, or that are only on one side.
    while read -r item; do result "drift $step $item"; done < <(
      diff <(sort "$recorded") <(sort <<<"$now") | sed -n 's/^[<>] \([^ ]*\) .*$/\1/p' | sort -u
    )
  done
  announce_rivals
  note "drift read"
}

# The operator's master.cf entries on our ports, named before `up` comments them out (postfix/listen.sh). Those it
# already replaced are named by the postfix step's own output.
announce_rivals() {
  local key
  command -v postconf >/dev/null || return 0
  while IFS= read -r key; do
    result "notice the operator's master.cf entry '${key%/inet}' binds port $(port_of "${key%%/*}"), which our submission service will serve: up comments it out while mail-submission is deployed, and destroy puts it back"
  done < <(rival_entries "${POSTFIX_MASTER_CF%/*}" "$(tr '\n' ' ' 2>/dev/null <"$STATE_DIR/postfix/services" || true)")
}
