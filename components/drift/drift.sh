# The drift read: observes what each step owns (observe.sh) and compares it with what the step recorded right after
# its last run. Read-only. Prints, for each step, the token of its last run and every item that changed since:
#   token <step> <n>
#   drift <step> <item>
# Sections: steps (the steps to look at).

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
  note "drift read"
}
