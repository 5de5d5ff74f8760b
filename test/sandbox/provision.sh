# shellcheck shell=bash
# Per-host setup: the overlay root and its identity (before boot), and the operator's firewall (after boot).

# Mount the host's overlay (image = read-only lower layer) and give it its own identity, keys and users.
# Everything is written before boot, through the merged tree, so it lands in the host's upper layer only.
provision_rootfs() {
  local name=$1 image=$2 user=$3 dir
  dir=$(state_dir "$name")
  mkdir -p "$dir/upper" "$dir/work" "$dir/root"
  mount -t overlay "ms-$name" -o "lowerdir=$image,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
  provision_identity "$name" "$dir/root" "$(cat "$dir/address")"
  provision_ssh_keys "$name" "$dir"
  [[ $user == deploy ]] && provision_deploy_user "$dir/root" "$dir/id_ed25519.pub"
  return 0
}

provision_identity() {
  local name=$1 root=${2:?root required} address=$3
  # rm first: never write through a symlink that could point out of the host's tree.
  rm -f "$root/etc/hostname" "$root/etc/hosts" "$root/etc/machine-id"
  printf '%s\n' "$name" >"$root/etc/hostname"
  # A resolvable FQDN (RFC 2606 .test) so Postfix's myhostname default and `hostname -f` work offline.
  printf '127.0.0.1\tlocalhost\n%s\t%s.sandbox.test %s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
    "$address" "$name" "$name" >"$root/etc/hosts"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
  printf '\n' >>"$root/etc/machine-id"
}

# A fresh client keypair for this run (kept in the state dir) and a fresh host key (pinned in known_hosts).
provision_ssh_keys() {
  local name=$1 dir=${2:?state dir required} root="$2/root"
  ssh-keygen -q -t ed25519 -N '' -C "sandbox-$name" -f "$dir/id_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C '' -f "$root/etc/ssh/ssh_host_ed25519_key"
  cp "$root/etc/ssh/ssh_host_ed25519_key.pub" "$dir/ssh_host_ed25519_key.pub"
  printf '%s %s\n' "$(cat "$dir/address")" "$(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" \
    >"$dir/known_hosts"
  install -d -m 700 "$root/root/.ssh"
  install -m 600 "$dir/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
}

# A non-root operator account, as on a real server: the product must then work through sudo.
provision_deploy_user() {
  local root=${1:?root required} pubkey=$2
  # useradd/chown through chroot so the names resolve against the host's own passwd file.
  chroot "$root" useradd --create-home --shell /bin/bash --user-group deploy
  # '*' (no password) rather than useradd's '!' (locked): sshd may refuse key logins to locked accounts.
  chroot "$root" usermod -p '*' deploy
  printf 'deploy ALL=(ALL) NOPASSWD:ALL\n' >"$root/etc/sudoers.d/deploy"
  chmod 440 "$root/etc/sudoers.d/deploy"
  install -d -m 700 "$root/home/deploy/.ssh"
  install -m 600 "$pubkey" "$root/home/deploy/.ssh/authorized_keys"
  chroot "$root" chown -R deploy:deploy /home/deploy/.ssh
}

# The operator's own firewall, installed from the image's apt cache (the host is offline). The product has to
# open 465/587 on top of it without clobbering it.
provision_firewall() {
  local name=$1 mode=$2 start
  [[ $mode == none ]] && return 0
  start=$(now)
  case "$mode" in
    nftables-drop)
      host_ssh root "$name" 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nftables' >&2
      # nft -c validates before the file replaces anything; the service loads it at every boot.
      operator_ruleset | host_ssh root "$name" 'cat >/etc/nftables.conf.new &&
        nft -c -f /etc/nftables.conf.new && mv /etc/nftables.conf.new /etc/nftables.conf &&
        systemctl enable --now nftables.service && nft list table inet operator >/dev/null' >&2
      ;;
    nftables)
      # Debian's stock ruleset (table inet filter, everything accepted), as `apt-get install nftables` leaves it.
      host_ssh root "$name" 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nftables &&
        systemctl enable --now nftables.service && nft list table inet filter >/dev/null' >&2
      ;;
    ufw)
      host_ssh root "$name" 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ufw &&
        ufw allow 22/tcp && ufw --force enable && ufw status | grep -q "Status: active"' >&2
      ;;
    firewalld)
      # The stock public zone admits SSH (and DHCPv6) only, as on a fresh RHEL-family server.
      host_ssh root "$name" 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends firewalld &&
        systemctl enable --now firewalld && firewall-cmd --state' >&2
      ;;
  esac
  log "$name: firewall $mode in place after $(elapsed_since "$start") s"
}

# Debian's stock nftables.conf starts with `flush ruleset` too: a product that keeps its rules only at runtime
# loses them when the operator restarts nftables.service.
operator_ruleset() {
  cat <<'EOF'
#!/usr/sbin/nft -f
# Operator firewall of a sandbox host: drop inbound except SSH.
flush ruleset

table inet operator {
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		iif lo accept
		tcp dport 22 accept
	}
}
EOF
}
