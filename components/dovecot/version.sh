# shellcheck shell=bash
# dovecot_syntax: which of the two configuration syntaxes we render (dovecot/render.ts) the installed Dovecot reads.
# Used by the dovecot step, which writes that syntax, and by the check step, which reads the settings back: one
# answer for both, and a version we have not tested fails the step instead of being guessed at.
dovecot_syntax() {
  local v
  v=$(dovecot --version 2>/dev/null) || die "Dovecot is not installed (the packages step installs it); nothing was changed"
  case "$v" in
    2.3.*) echo 2.3 ;;
    2.4.* | 2.5.*) echo 2.4 ;;
    *) die "Dovecot $v is not supported (2.3 and 2.4 are); nothing was changed" ;;
  esac
}
