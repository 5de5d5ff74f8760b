# shellcheck shell=bash
# Client-side probes of our services on this host, used by the postfix step (on its rehearsal instance and right
# after its reload) and by the check step (on the live services). Each probe is one short session: no fixed sleeps,
# and every reply (and handshake) bounded by PROBE_TIMEOUT seconds.
PROBE_TIMEOUT=10

# probe_fingerprint ADDRESS PORT SNI MODE: completes a TLS handshake (MODE tls = implicit, starttls) and prints the
# SHA-256 fingerprint of the certificate served, lower-case hex; prints nothing if no handshake completed.
probe_fingerprint() {
  local address=$1 port=$2 sni=$3 mode=$4 out
  local -a extra=()
  [ "$mode" = starttls ] && extra=(-starttls smtp)
  out=$(timeout "$PROBE_TIMEOUT" openssl s_client "${extra[@]}" -connect "$address:$port" -servername "$sni" </dev/null 2>/dev/null) || true
  fingerprint_of <<<"$out"
}

# fingerprint_of < PEM (or s_client's output): the SHA-256 fingerprint of the first certificate in it, lower-case hex
# without colons, as the component computes it (certificate/facts.ts); prints nothing when there is no certificate.
fingerprint_of() {
  local out
  out=$(openssl x509 -noout -fingerprint -sha256 2>/dev/null) || return 0
  out=${out#*=}
  out=${out//:/}
  printf '%s\n' "${out,,}"
}

# smtp_dialog ADDRESS PORT SNI MODE COMMAND...: one SMTP session (MODE plain, tls or starttls). Prints every reply
# line the server sent after TLS was up (plain: from the greeting on), each prefixed with the index of the command
# it answers (0 = greeting). Ends with QUIT. Returns 1 if the session could not be opened or a reply timed out.
smtp_dialog() {
  local address=$1 port=$2 sni=$3 mode=$4 i=1 cmd rd wr pid=
  shift 4
  if [ "$mode" = plain ]; then
    exec {rd}<>"/dev/tcp/$address/$port" || return 1
    wr=$rd
    smtp_reply "$rd" 0 || { exec {rd}>&-; return 1; }
  else
    local -a extra=()
    [ "$mode" = starttls ] && extra=(-starttls smtp)
    coproc SMTP_TLS { exec timeout $((PROBE_TIMEOUT * 3)) openssl s_client -quiet "${extra[@]}" -connect "$address:$port" -servername "$sni" 2>/dev/null; }
    pid=$SMTP_TLS_PID
    exec {rd}<&"${SMTP_TLS[0]}" {wr}>&"${SMTP_TLS[1]}"
    # Implicit TLS: the greeting comes inside TLS. STARTTLS: s_client has already read it and done EHLO itself.
    if [ "$mode" = tls ]; then smtp_reply "$rd" 0 || { smtp_close "$rd" "$wr" "$pid"; return 1; }; fi
  fi
  for cmd; do
    printf '%s\r\n' "$cmd" 2>/dev/null 1>&"$wr" || break
    smtp_reply "$rd" "$i" || { smtp_close "$rd" "$wr" "$pid"; return 1; }
    i=$((i + 1))
  done
  printf 'QUIT\r\n' 2>/dev/null 1>&"$wr" || true
  smtp_close "$rd" "$wr" "$pid"
}

# smtp_reply FD INDEX: reads one (possibly multi-line) reply, printing "INDEX LINE" for each of its lines.
smtp_reply() {
  local fd=$1 index=$2 line
  while IFS= read -r -t "$PROBE_TIMEOUT" line <&"$fd"; do
    line=${line%$'\r'}
    printf '%s %s\n' "$index" "$line"
    [[ $line =~ ^[0-9]{3}-  ]] || return 0
  done
  return 1
}

smtp_close() {
  local rd=$1 wr=$2 pid=$3
  exec {rd}<&- 2>/dev/null || true
  [ "$wr" = "$rd" ] || exec {wr}>&- 2>/dev/null || true
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}

# reply_to INDEX DIALOG: the reply lines (without index) to command INDEX in smtp_dialog's output.
reply_to() { awk -v i="$1" '$1 == i { sub(/^[0-9]+ /, ""); print }' <<<"$2"; }
# first_reply INDEX DIALOG: the first line of that reply.
first_reply() { awk -v i="$1" '$1 == i { sub(/^[0-9]+ /, ""); print; exit }' <<<"$2"; }

# The checks below capture every reply before they test it: `cmd | grep -q` under pipefail fails when grep exits
# early and cmd dies of SIGPIPE.

# The port-to-probe dispatch, in one place: how a client starts TLS on each of our ports (RFC 8314: implicit TLS on
# 465, 993 and 995, STARTTLS on 587), and which of them speak SMTP.
tls_mode_of() {
  case "$1" in
    "$PORT_SUBMISSION") echo starttls ;;
    "$PORT_SUBMISSIONS" | "$PORT_IMAPS" | "$PORT_POP3S") echo tls ;;
    *) die "internal error: no client probe for port $1" ;;
  esac
}
speaks_smtp() { [ "$1" = "$PORT_SUBMISSIONS" ] || [ "$1" = "$PORT_SUBMISSION" ]; }

# check_port SERVICE_PORT ADDRESS PORT SNI FINGERPRINT: the client checks of the service the contract puts on
# SERVICE_PORT, run against ADDRESS:PORT (the live port, or where the rehearsal moved it). One line per problem:
#   465  TLS from the first byte (RFC 8314 §3.3) with the expected certificate, AUTH inside it, no relay;
#   587  before STARTTLS only STARTTLS (no AUTH, MAIL refused with 530); after it as 465;
#   993, 995  the expected certificate.
check_port() {
  local service=$1 mode
  mode=$(tls_mode_of "$service")
  if ! speaks_smtp "$service"; then
    local got
    got=$(probe_fingerprint "$2" "$3" "$4" "$mode")
    [ "$got" = "$5" ] || echo "$service: serves certificate '${got:-none}', expected $5"
    return 0
  fi
  if [ "$mode" = starttls ] && ! check_before_starttls "$2" "$3" "$service"; then return 0; fi
  check_in_tls "$2" "$3" "$4" "$5" "$service" "$mode"
}

# port_answers SERVICE_PORT ADDRESS PORT SNI: a TLS handshake completes there, started as a client would.
port_answers() { [ -n "$(probe_fingerprint "$2" "$3" "$4" "$(tls_mode_of "$1")")" ]; }

# check_before_starttls ADDRESS PORT LABEL: in clear, STARTTLS offered, AUTH not, MAIL FROM refused with 530.
# Returns 1 (after saying so) when the service did not even greet.
check_before_starttls() {
  local out ehlo
  if ! out=$(smtp_dialog "$1" "$2" "" plain "EHLO probe.invalid" "MAIL FROM:<probe@example.invalid>"); then
    echo "$3: no SMTP greeting"
    return 1
  fi
  ehlo=$(reply_to 1 "$out")
  grep -q '^250[- ]STARTTLS' <<<"$ehlo" || echo "$3: STARTTLS not offered"
  if grep -q '^250[- ]AUTH' <<<"$ehlo"; then echo "$3: AUTH offered before STARTTLS"; fi
  [[ $(first_reply 2 "$out") == 530* ]] || echo "$3: MAIL FROM before STARTTLS was not refused with 530 ($(first_reply 2 "$out"))"
}

# check_in_tls ADDRESS PORT SNI FINGERPRINT LABEL MODE: once TLS is up (MODE tls or starttls), the expected
# certificate, AUTH offered, and a recipient elsewhere refused without AUTH.
check_in_tls() {
  local address=$1 port=$2 sni=$3 fp=$4 label=$5 mode=$6 got out ehlo where="inside TLS"
  [ "$mode" = tls ] || where="after STARTTLS"
  got=$(probe_fingerprint "$address" "$port" "$sni" "$mode")
  if [ -z "$got" ]; then
    if [ "$mode" = tls ]; then echo "$label: no TLS handshake (implicit TLS expected)"; else echo "$label: STARTTLS did not complete a TLS handshake"; fi
    return 0
  fi
  [ "$got" = "$fp" ] || echo "$label: serves certificate $got, expected $fp"
  if ! out=$(smtp_dialog "$address" "$port" "$sni" "$mode" "EHLO probe.invalid" "MAIL FROM:<probe@example.invalid>" "RCPT TO:<relay-test@example.invalid>"); then
    echo "$label: the SMTP session $where did not complete"
    return 0
  fi
  ehlo=$(reply_to 1 "$out")
  grep -q '^250[- ]AUTH ' <<<"$ehlo" || echo "$label: no AUTH offered $where"
  relay_refused "$out" || echo "$label: without AUTH, a recipient elsewhere was not refused ($(first_reply 3 "$out"))"
}

# relay_refused DIALOG: true when MAIL FROM (command 2) or RCPT TO (command 3) got a permanent (5xx) refusal.
relay_refused() {
  [[ $(first_reply 2 "$1") == 5* || $(first_reply 3 "$1") == 5* ]]
}
