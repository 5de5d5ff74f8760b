# shellcheck shell=bash
# What each step owns on the host is observed as `item digest` lines, by the observe_<step> function in its
# concern's observe.sh: digests of files and of settings read back, never their contents, so that no secret leaves
# the host. A step records its observation right after it applied (lib.sh), and the drift read (drift/drift.sh)
# observes again and names every item that changed since. These are the helpers they share.

digest_of() { sha256sum | cut -c1-16; }
file_digest() { if [ -e "$1" ]; then digest_of <"$1"; else echo absent; fi; }
service_state() { printf '%s/%s' "$(systemctl is-enabled "$1" 2>/dev/null || echo missing)" "$(systemctl is-active "$1" 2>/dev/null || echo inactive)"; }
