# shellcheck shell=bash
# Taking hosts down without leaving anything behind: processes, overlay mount, cgroups, veth, netns, state,
# and the bridge with the last host. The cached image is never touched.

readonly STOP_TIMEOUT_S=${SANDBOX_STOP_TIMEOUT:-10}

host_down() {
  local name=$1 lock start
  start=$(now)
  if [[ ! -d $(state_dir "$name") ]]; then
    log "$name is not up"
    return 0
  fi
  host_stop "$name"
  lock_file "$GLOBAL_LOCK" lock
  host_unregister "$name"
  unlock_file "$lock"
  log "$name: down in $(elapsed_since "$start") s"
}

host_down_all() {
  local dir
  for dir in "$STATE_ROOT"/*/; do
    [[ -d $dir ]] && host_down "$(basename "$dir")"
  done
  sweep_orphans
}

# Clean shutdown first: SIGTERM makes systemd-nspawn ask the host's systemd to power off (SIGRTMIN+3).
host_stop() {
  local name=$1 dir pid i
  dir=$(state_dir "$name")
  pid=$(host_pid "$name")
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
      [[ -n $(host_pid "$name") ]] || break
      sleep 0.1
    done
    if [[ -n $(host_pid "$name") ]]; then
      log "$name did not shut down within $STOP_TIMEOUT_S s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    # nspawn's parent is this machine's init (process_api), which reaps orphans lazily: give it a moment so
    # `down` does not return while a zombie systemd-nspawn is still listed.
    for ((i = 0; i < 30; i++)); do
      [[ -e /proc/$pid ]] || break
      sleep 0.1
    done
  fi
  cgroup_kill "$name"
  if mountpoint -q "$dir/root"; then
    umount "$dir/root" || { sleep 1 && umount "$dir/root"; }
  fi
  cgroup_remove "$name"
}

# With the global lock held: network, state dir, and the bridge if no host is left.
host_unregister() {
  local name=$1 dir
  dir=$(state_dir "$name")
  net_host_remove "$name" "$(cat "$dir/index" 2>/dev/null || true)"
  if [[ -d $dir ]]; then
    # --one-file-system: should the overlay still be mounted, never descend into it (or the image below it).
    mountpoint -q "$dir/root" 2>/dev/null && die "$dir/root is still mounted; not deleting $dir"
    rm -rf --one-file-system "$dir"
  fi
  net_hosts_registered || net_remove_shared
}

# Every process still in the host's cgroups (both hierarchies). cgroup.kill (cgroup v2) kills the subtree
# atomically, so a forking process cannot escape; the v1 loop catches the rest.
cgroup_kill() {
  local name=$1 cg i pids
  while read -r cg; do
    [[ -w $cg/cgroup.kill ]] && printf '1\n' >"$cg/cgroup.kill"
  done < <(host_cgroups "$name")
  for ((i = 0; i < 50; i++)); do
    pids=$(cgroup_pids "$name")
    [[ -z $pids ]] && return 0
    # shellcheck disable=SC2086 # one pid per word
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  log "warning: processes left in the cgroups of $name: $(cgroup_pids "$name" | tr '\n' ' ')"
}

cgroup_pids() {
  local cg
  while read -r cg; do
    [[ -d $cg ]] && find "$cg" -name cgroup.procs -exec cat {} +
  done < <(host_cgroups "$1") | sort -u
}

# Depth-first, because a cgroup directory can only be removed once it has no children.
cgroup_remove() {
  local cg
  while read -r cg; do
    [[ -d $cg ]] && find "$cg" -depth -type d -exec rmdir {} +
    rmdir "$(dirname "$cg")" 2>/dev/null || true # the shared parent, once no host uses it
  done < <(host_cgroups "$1")
}

# Leftovers with our names but no state dir (a crash, or state removed by hand): clean them too, so
# `down --all` always ends with nothing of ours on the machine. Matches only our prefixes.
sweep_orphans() {
  local lock h cg mnt ns link
  for h in "${CGROUP_HIERARCHIES[@]}"; do
    for cg in "$h/$CGROUP_PARENT"/*/; do
      [[ -d $cg && ! -d $(state_dir "$(basename "$cg")") ]] || continue
      log "removing orphan cgroup $cg"
      cgroup_kill "$(basename "$cg")"
      cgroup_remove "$(basename "$cg")"
    done
  done
  findmnt -rn -o TARGET | { grep -F "$STATE_ROOT/" || true; } | sort -r | while read -r mnt; do
    log "unmounting orphan $mnt"
    umount "$mnt"
  done
  lock_file "$GLOBAL_LOCK" lock
  for ns in $(ip netns list | awk '{print $1}' | grep "^$NETNS_PREFIX" || true); do
    [[ -d $(state_dir "${ns#"$NETNS_PREFIX"}") ]] && continue
    log "removing orphan netns $ns"
    ip netns del "$ns"
  done
  for link in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^${VETH_PREFIX}[0-9]+\$" || true); do
    grep -qx "${link#"$VETH_PREFIX"}" "$STATE_ROOT"/*/index 2>/dev/null && continue
    log "removing orphan veth $link"
    ip link del "$link"
  done
  net_hosts_registered || net_remove_shared
  unlock_file "$lock"
}
