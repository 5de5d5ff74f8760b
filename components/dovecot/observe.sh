# shellcheck shell=bash
# What the dovecot step owns, for the drift read (host/observe.sh): the instance's configuration, passwd-file and
# unit, and whether the instance runs.

observe_dovecot() {
  printf 'dovecot:conf %s\n' "$(file_digest "$DOVECOT_CONF")"
  printf 'dovecot:passwd-file %s\n' "$(file_digest "$DOVECOT_PASSWD")"
  printf 'dovecot:unit %s\n' "$(file_digest "$DOVECOT_UNIT")"
  printf 'dovecot:service %s\n' "$(service_state "$DOVECOT_UNIT_NAME")"
}
