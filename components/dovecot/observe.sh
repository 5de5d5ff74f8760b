# shellcheck shell=bash
# What the dovecot step owns, for the drift read (host/observe.sh): its drop-in, the passwd-file, 10-auth.conf and
# whether Dovecot runs.

observe_dovecot() {
  printf 'dovecot:drop-in %s\n' "$(file_digest "$DOVECOT_DROP_IN")"
  printf 'dovecot:passwd-file %s\n' "$(file_digest "$DOVECOT_PASSWD")"
  printf 'dovecot:10-auth.conf %s\n' "$(file_digest "$DOVECOT_AUTH_CONF")"
  printf 'dovecot:service %s\n' "$(service_state dovecot)"
}
