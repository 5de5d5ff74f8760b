# The last step on each host: fails the `pulumi up` if the endpoint does not keep RFC 8314's promises, however it
# got that way (an escape hatch, a hand edit, another tool). It reads the effective settings back (postconf -P,
# doveconf -h) and compares those that carry a guarantee with what the component wants, then looks at the live
# services from the host as a mail client would, relay attempt without AUTH included. It also proves that the
# certificate being served is the one just deployed.
# Sections: hostname, ports (enabled ports), fingerprint (SHA-256 of the leaf, lower-case hex, or `installed` where
# the host renews it), certificate-deployed (what the certificate step last installed there; it only moves the check),
# postfix-guarantees (service/type/name=value|guarantee), dovecot-guarantees (syntax|name=value|guarantee),
# postfix-services (our master.cf keys), postfix-trust and postfix-permit (an ERE, then the guarantee it carries).

# Each expected setting of our master.cf services, as postconf -P reads it back.
check_postfix_settings() {
  local line setting guarantee key value actual
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    setting=${line%%|*} guarantee=${line#*|}
    key=${setting%%=*} value=${setting#*=}
    actual=$(postconf -Ph "$key" 2>/dev/null) || true
    [ "$actual" = "$value" ] || echo "postfix $key is '${actual:-(not set)}', not '$value': $guarantee"
  done < <(section postfix-guarantees | for_this_host | with_main_milters)
}

# No other -o on our services widens who is trusted (mynetworks and its kin) or lets clients through (a permit
# keyword): whatever put it there, an escape hatch or a hand edit. Our own settings were compared above.
check_postfix_overrides() {
  local line key value ours managed trust trust_guarantee permit permit_guarantee
  ours=" $(section postfix-services | for_this_host | tr '\n' ' ') "
  managed=$(section postfix-guarantees | cut -d'|' -f1 | cut -d= -f1)
  { read -r trust && IFS= read -r trust_guarantee; } < <(section postfix-trust)
  { read -r permit && IFS= read -r permit_guarantee; } < <(section postfix-permit)
  while IFS= read -r line; do
    key=${line%% = *} value=${line#* = }
    [[ $ours == *" ${key%/*} "* ]] || continue
    if grep -qxF -- "$key" <<<"$managed"; then continue; fi
    if [[ ${key##*/} =~ $trust ]]; then
      echo "postfix $key is set to '$value' on our service: it carries $trust_guarantee"
    elif [[ $value =~ $permit ]]; then
      echo "postfix $key is '$value' on our service: it carries $permit_guarantee"
    fi
  done < <(postconf -P 2>/dev/null)
}

check_dovecot_settings() {
  local line setting guarantee key value actual syntax
  syntax=$(dovecot_syntax)
  while IFS= read -r line; do
    [ "${line%%|*}" = "$syntax" ] || continue
    line=${line#*|}
    setting=${line%%|*} guarantee=${line#*|}
    key=${setting%%=*} value=${setting#*=}
    actual=$(doveconf -c "$DOVECOT_CONF" -h "$key" 2>/dev/null) || true
    [ "$actual" = "$value" ] || echo "dovecot $key is '${actual:-(not set)}', not '$value': $guarantee"
  done < <(section dovecot-guarantees)
  # Only Postfix may ask Dovecot to check passwords (SASL_README, "Dovecot SASL").
  [ "$(stat -c '%a %U %G' "$SASL_SOCKET" 2>/dev/null)" = "660 postfix postfix" ] ||
    echo "dovecot's SASL socket $SASL_SOCKET is missing or not 0660 postfix:postfix: AUTH through Dovecot only"
}

# Clients connect to the host's own addresses, not to loopback: each enabled port must listen on every one of them
# (main.cf's inet_interfaces or inet_protocols could keep Postfix off one). Read from the sockets, not by connecting:
# the firewall may rightly refuse this host as a client.
check_reachable() {
  local address port listening
  for port in $(section ports); do
    listening=" $(ss -Hltn "sport = :$port" 2>/dev/null | awk '{ print $4 }' | tr '\n' ' ') "
    while read -r address; do
      case "$address" in
        *:*) [[ $listening == *" [::]:$port "* || $listening == *" *:$port "* || $listening == *" [$address]:$port "* ]] ;;
        *) [[ $listening == *" 0.0.0.0:$port "* || $listening == *" *:$port "* || $listening == *" $address:$port "* ]] ;;
      esac || echo "$port: nothing listens on the host's address $address: clients connecting there are refused (see main.cf's inet_interfaces and inet_protocols)"
    done < <(ip -o addr show scope global 2>/dev/null | awk '$3 ~ /^inet6?$/ { sub(/\/.*/, "", $4); print $4 }')
  done
}

apply() {
  local hostname fp port problems
  hostname=$(section hostname)
  fp=$(section fingerprint)
  # A certificate the host renews (acme, host modes) is checked as the pair installed now: a renewal since the
  # certificate step ran is no fault.
  if [ "$fp" = installed ]; then fp=$(fingerprint_of <"$TLS_LINK/$CERT_CHAIN_FILE"); fi
  problems=$(
    check_postfix_settings
    check_postfix_overrides
    check_dovecot_settings
    for port in $(section ports); do check_port "$port" 127.0.0.1 "$port" "$hostname" "$fp"; done
    check_reachable
  )
  if [ -n "$problems" ]; then
    local count
    count=$(wc -l <<<"$problems")
    [ "$count" -eq 1 ] && count="1 problem" || count="$count problems"
    die "the endpoint does not keep its guarantees ($count, listed below); the configuration stays as it is; undo the change that weakened it and run pulumi up again" "$problems"
  fi
  note "checked: effective settings, $(section ports | tr '\n' ' ')as a client would, no relay without AUTH, certificate $fp"
  result "ok $(section ports | tr '\n' ' ')certificate $fp"
}

# Nothing on the host is the check's own but the record of its last run, which main() removes.
remove() { note "nothing to undo"; }
