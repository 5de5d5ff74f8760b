# shellcheck shell=bash
# A throwaway Postfix instance that rehearses a candidate configuration before it goes live: its own master,
# queue and data directories under /run, the candidate's main.cf and master.cf, and only our submission services,
# rebound to free loopback ports. It answers the same client checks as the live services (smtp.sh); the SASL
# socket is the live Dovecot's, so AUTH is offered exactly as it would be. The live master is never signalled.

# Set by rehearse, read by the postfix step.
# shellcheck disable=SC2034
REHEARSAL_PROBLEM=

# rehearse CANDIDATE_DIR: sets REHEARSAL_PROBLEM to a one-line reason when the candidate fails (empty when it
# passes); the details (each problem, Postfix's own log lines) go to $SCRATCH/rehearsal.log. Called plainly, not in a
# condition, so that errexit stays on for everything that is not an expected failure.
rehearse() {
  local candidate=$1 r=$REHEARSAL_DIR since p465 p587 problems err port
  # shellcheck disable=SC2034
  REHEARSAL_PROBLEM=
  stop_rehearsal
  install -d -m 0755 "$r/etc" "$r/data"
  chown postfix "$r/data"
  cp -p "$candidate/main.cf" "$candidate/master.cf" "$r/etc/"
  postconf -c "$r/etc" -e "queue_directory=$r/spool" "data_directory=$r/data" multi_instance_enable=no \
    multi_instance_directories= master_service_disable= syslog_name=postfix-rehearsal
  p465=$(free_port "$REHEARSAL_PORT_SUBMISSIONS")
  p587=$(free_port "$REHEARSAL_PORT_SUBMISSION")
  rebind_services "$r/etc/master.cf" "$p465" "$p587"
  for port in "$p465" "$p587"; do
    if [ -n "$(postconf -c "$r/etc" -M "127.0.0.1:$port/inet")" ]; then
      postconf -c "$r/etc" -P "127.0.0.1:$port/inet/syslog_name=postfix-rehearsal/$port"
    fi
  done
  make_queue "$r/spool"
  ln -sfn "$SASL_SOCKET" "$r/spool/${SASL_SOCKET#"$POSTFIX_SPOOL/"}"
  since=$(date +%s)
  if ! err=$("$(postconf -h daemon_directory)/master" -c "$r/etc" -w 2>&1); then
    # shellcheck disable=SC2034
    REHEARSAL_PROBLEM="the rehearsal instance did not start"
    { printf '%s\n' "$err"; rehearsal_log "$since"; } >"$SCRATCH/rehearsal.log"
    stop_rehearsal
    return 0
  fi
  problems=$(rehearsal_checks "$p465" "$p587")
  stop_rehearsal
  [ -n "$problems" ] || return 0
  { printf '%s\n' "$problems"; rehearsal_log "$since"; } >"$SCRATCH/rehearsal.log"
  # shellcheck disable=SC2034
  REHEARSAL_PROBLEM=$(head -n 1 <<<"$problems")
}

# make_queue DIR: the queue directories master(8) and its daemons expect, with the owners and modes that
# `postfix check` would give them (which also walks the whole installation and takes seconds).
make_queue() {
  local q=$1 d
  install -d -m 0755 -o root -g root "$q" "$q/pid"
  for d in active bounce corrupt defer deferred flush hold incoming private saved trace; do
    install -d -m 0700 -o postfix -g root "$q/$d"
  done
  install -d -m 0730 -o postfix -g postdrop "$q/maildrop"
  install -d -m 0710 -o postfix -g postdrop "$q/public"
}

rehearsal_checks() {
  local hostname fp="(no certificate deployed)" port
  # A healthy smtpd answers on loopback within milliseconds; one that cannot start leaves the client hanging, as
  # its master throttles the service. A short bound keeps a rejected candidate's step short.
  PROBE_TIMEOUT=4
  hostname=$(section hostname)
  # The certificate step has put the deployed certificate in place: the rehearsal must serve that one.
  if [ -f "$TLS_LINK/$CERT_CHAIN_FILE" ]; then fp=$(fingerprint_of <"$TLS_LINK/$CERT_CHAIN_FILE"); fi
  for port in $(section ports); do
    case "$port" in
      "$PORT_SUBMISSIONS") check_port "$port" 127.0.0.1 "$1" "$hostname" "$fp" ;;
      "$PORT_SUBMISSION") check_port "$port" 127.0.0.1 "$2" "$hostname" "$fp" ;;
    esac
  done
}

# rebind_services MASTER_CF PORT465 PORT587: our IPv4 465/587 entries listen on 127.0.0.1 at the given ports; every
# other inet service (port 25 above all, and our IPv6 entries) is dropped, so the rehearsal binds nothing the live one uses.
rebind_services() {
  local tmp
  tmp=$(mktemp)
  awk -v s465="$LISTEN_ALL_IPV4:$PORT_SUBMISSIONS" -v s587="$LISTEN_ALL_IPV4:$PORT_SUBMISSION" -v p465="$2" -v p587="$3" '
    /^[^#[:space:]]/ { keep = 1
      if ($2 == "inet") {
        if ($1 == s465) $1 = "127.0.0.1:" p465
        else if ($1 == s587) $1 = "127.0.0.1:" p587
        else keep = 0
      }
    }
    keep { print }' "$1" >"$tmp"
  cat "$tmp" >"$1"
  rm -f "$tmp"
}

# free_port START: the first port from START on that nothing listens on.
free_port() {
  local p=$1
  while [ -n "$(ss -Hltn "sport = :$p")" ]; do p=$((p + 1)); done
  echo "$p"
}

# What the rehearsal instance logged since START: the smtpd's own reason (e.g. "fatal: Invalid TLS level").
rehearsal_log() {
  command -v journalctl >/dev/null || return 0
  journalctl --since "@$1" --no-pager -o short 2>/dev/null | sed -n -E 's/^.* (postfix-rehearsal[^ ]*: (warning|fatal|error|panic):.*)$/\1/p' | tail -n 10 || true
}

stop_rehearsal() {
  local pid
  if [ -f "$REHEARSAL_DIR/spool/pid/master.pid" ]; then
    pid=$(tr -d ' ' <"$REHEARSAL_DIR/spool/pid/master.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  rm -rf "$REHEARSAL_DIR"
  rmdir "${REHEARSAL_DIR%/*}" 2>/dev/null || true
}
