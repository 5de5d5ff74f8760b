# shellcheck shell=bash
# Networking for sandbox hosts: one bridge on this machine, one network namespace + veth per host.
#
# Hosts talk only to this machine and to each other over the bridge: no default route, no NAT, no forwarding,
# no iptables rules. The machine's own interfaces (eth0) are never touched.
# All functions here must be called with the global lock held.

netns_name() { printf '%s%s\n' "$NETNS_PREFIX" "$1"; }
veth_name() { printf '%s%s\n' "$VETH_PREFIX" "$1"; }

net_bridge_ensure() {
  ip link show "$BRIDGE" >/dev/null 2>&1 && return 0
  # Refuse to shadow a route someone else already uses for our subnet.
  if [[ -n $(ip -4 route show "$SUBNET_PREFIX.0/24") ]]; then
    die "$SUBNET_PREFIX.0/24 is already routed on this machine; not creating $BRIDGE"
  fi
  log "creating bridge $BRIDGE ($BRIDGE_ADDRESS/24)"
  # forward_delay 0: ports forward at once (no STP on a private bridge), so SSH answers as soon as sshd does.
  ip link add "$BRIDGE" type bridge stp_state 0 forward_delay 0
  ip addr add "$BRIDGE_ADDRESS/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

# Called when the last host is gone: the bridge, and /run/netns if we created it and it is empty.
net_remove_shared() {
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "removing bridge $BRIDGE"
    ip link del "$BRIDGE"
  fi
  if [[ -f $STATE_ROOT/.run-netns-created && -d /run/netns && -z $(ls -A /run/netns) ]]; then
    ! mountpoint -q /run/netns || umount /run/netns
    rmdir /run/netns
  fi
  rm -f "$STATE_ROOT/.run-netns-created"
}

# Print the host number for NAME: 2 for "dev" (the address stacks/Pulumi.dev.yaml names), else the lowest of
# 3..254 not used by a registered host nor by a leftover veth.
net_alloc_index() {
  local name=$1 n used first=3
  used=" $(cat "$STATE_ROOT"/*/index 2>/dev/null | tr '\n' ' ') "
  if [[ $name == dev ]]; then
    if [[ $used == *" 2 "* ]] || ip link show "$(veth_name 2)" >/dev/null 2>&1; then
      die "address $SUBNET_PREFIX.2 (reserved for dev) is taken"
    fi
    printf '2\n'
    return 0
  fi
  for ((n = first; n <= 254; n++)); do
    [[ $used == *" $n "* ]] && continue
    ip link show "$(veth_name "$n")" >/dev/null 2>&1 && continue
    printf '%s\n' "$n"
    return 0
  done
  die "no free address left in $SUBNET_PREFIX.0/24"
}

# Create the host's namespace (/run/netns/ms-NAME) with eth0 = SUBNET.N/24, wired to the bridge via msvN.
net_host_create() {
  local name=$1 n=$2 ns veth
  ns=$(netns_name "$name")
  veth=$(veth_name "$n")
  # The first `ip netns add` on a machine also bind-mounts /run/netns onto itself; remember that it was us.
  [[ -d /run/netns ]] || touch "$STATE_ROOT/.run-netns-created"
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$SUBNET_PREFIX.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
}

# Delete the veth pair (both ends) and the namespace. Tolerates either being gone already.
net_host_remove() {
  local name=$1 n=${2:-} ns
  ns=$(netns_name "$name")
  if [[ -n $n ]] && ip link show "$(veth_name "$n")" >/dev/null 2>&1; then
    ip link del "$(veth_name "$n")"
  fi
  if [[ -e /run/netns/$ns ]]; then
    ip netns del "$ns"
  fi
}

# True while any host is registered: the bridge must stay.
net_hosts_registered() {
  compgen -G "$STATE_ROOT/*/index" >/dev/null
}
