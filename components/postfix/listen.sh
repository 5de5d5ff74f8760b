# shellcheck shell=bash
# Where our submission services listen, and which operator entries they take a port from. Each service comes as one
# master.cf entry per address family on its wildcard address (postfix/render.ts), so that main.cf's inet_interfaces
# (loopback-only on many hosts) does not keep clients out; the entries of a family that this Postfix does not speak
# (main.cf's inet_protocols, or a kernel without IPv6) are dropped, as master(8) would refuse them.

# unwanted_families: the master.cf service prefix ("0.0.0.0:", "[::]:") of each family to drop, one per line.
unwanted_families() {
  local protocols
  protocols=" $(postconf -h inet_protocols 2>/dev/null | tr ',' ' ') "
  [[ $protocols == *" all "* || $protocols == *" ipv4 "* ]] || echo "$LISTEN_ALL_IPV4:"
  if [ ! -e "$KERNEL_IPV6" ] || ! [[ $protocols == *" all "* || $protocols == *" ipv6 "* ]]; then echo "$LISTEN_ALL_IPV6:"; fi
}

# for_this_host < LINES: the bundle's service and parameter lines without those of unwanted families.
for_this_host() {
  local drop
  drop=$(unwanted_families | tr '\n' ' ')
  awk -v drop="$drop" 'BEGIN { n = split(drop, d, " ") } { for (i = 1; i <= n; i++) if (index($0, d[i]) == 1) next; print }'
}

# with_main_milters: stdin with $MAIN_MILTERS_TOKEN replaced by main.cf's own smtpd_milters and a comma (nothing when
# it has none): our services run their signer after the operator's milters, never instead of them. A -o value cannot
# say $smtpd_milters itself (it would name itself), so the value is read here, on every run of the step.
with_main_milters() {
  local main line
  main=$(postconf -h smtpd_milters 2>/dev/null || true)
  [ -z "$main" ] || main="$main,"
  while IFS= read -r line; do printf '%s\n' "${line//"$MAIN_MILTERS_TOKEN"/$main}"; done
}

# port_of SERVICE: the TCP port a master.cf inet service name binds ("[::1]:587", "submission", "2525").
port_of() {
  local port=${1##*:}
  if ! [[ $port =~ ^[0-9]+$ ]]; then port=$(getent services "$port/tcp" | awk '{ print $2; exit }'); fi
  printf '%s\n' "${port%/tcp}"
}

# rival_entries DIR OUR_KEYS: the inet entries in DIR's master.cf, not ours, that bind one of our ports.
rival_entries() {
  local name ports
  ports=" $(section ports | tr '\n' ' ') "
  while read -r name; do
    [[ " $2 " == *" $name/inet "* ]] && continue
    [[ $ports == *" $(port_of "$name") "* ]] && printf '%s/inet\n' "$name"
  done < <(postconf -c "$1" -M 2>/dev/null | awk '$2 == "inet" { print $1 }')
  return 0
}
