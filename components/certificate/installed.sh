# shellcheck shell=bash
# certificate-install: installed on the host by the certificate step in acme and host modes, and run there by the
# renewal (acme-renew) or the path unit (host mode) whenever the host's pair changed. It installs that pair exactly
# as the step does (install.sh: one rename, one reload), under the step's own lock, and records nothing as the
# step's run: a renewal is the host's business, not drift.
# Sections: source (acme|host), chain-path, key-path.
# shellcheck disable=SC2034 # read by main (host/lib.sh)
RECORD_RUN=no

apply() {
  local chain key problem tries=0
  chain=$(section chain-path) key=$(section key-path)
  # A client may replace the chain and the key one after the other (certbot renames them in turn): a pair that
  # does not match yet is asked again for a while before it counts as broken.
  while problem=$(pair_problem "$chain" "$key") && [ -n "$problem" ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 20 ] || die "$chain and $key: $problem; the served certificate stays as it was"
    sleep 0.5
  done
  install_pair "$chain" "$key" "$(section source)"
  if [ "$PAIR_CHANGED" = yes ]; then note "installed the renewed certificate from $chain"; else note "$chain is served already"; fi
}

remove() { note "nothing to undo"; }
