#!/bin/bash
# The README's main job: a local sandbox host with the dev stack deployed on it by `pulumi up`.
#   bash scripts/dev.sh up     boot (or reuse) the sandbox host "dev", then `pulumi up --stack dev`
#   bash scripts/dev.sh down   `pulumi destroy --stack dev`, then remove the host
# State is a local file backend under /var/lib/mail-submission-dev; the stack's secrets are encrypted with the
# passphrase "mail-submission-dev" (stacks/Pulumi.dev.yaml says so too).
set -euo pipefail
cd "$(dirname "$0")/.."

SANDBOX=test/sandbox/sandbox.sh
DEV=/var/lib/mail-submission-dev
CA_FILE=$DEV/ca.pem
HOSTNAME_=mail.sandbox.test
USER_=demo@sandbox.test
PASSWORD=dev-sandbox-password
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$DEV/pulumi-state}
export PULUMI_CONFIG_PASSPHRASE=mail-submission-dev
# Offline machines: no update check, and a missing plugin fails at once with its name.
export PULUMI_SKIP_UPDATE_CHECK=1 PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=1

log() { printf 'dev: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

preflight() {
  command -v pulumi >/dev/null || die "no pulumi on PATH: run 'bash scripts/setup.sh' first"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$major" -ge 22 ] || die "node $(node --version 2>/dev/null || echo missing) is too old (22 or newer): run 'bash scripts/setup.sh' first"
  # Pulumi.yaml's main is the compiled program (dist/): built every time, a no-op when nothing changed.
  bash scripts/build.sh
}

host_running() { [[ $(bash "$SANDBOX" list 2>/dev/null) == *'"name":"dev"'* ]]; }

# The CA that signed the dev host's certificate (an output of the stack, made by the tls provider).
write_ca_file() {
  pulumi stack output hosts --json --stack dev |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => process.stdout.write(JSON.parse(s).dev.caCertificatePem))' >"$CA_FILE.new"
  mv "$CA_FILE.new" "$CA_FILE"
}

# The dev stack's state goes (its config stays), for a host that is gone or going.
forget_stack() {
  if pulumi stack select dev --non-interactive 2>/dev/null; then
    log "$1"
    pulumi stack rm dev --yes --force --preserve-config --non-interactive >/dev/null
  fi
}

up() {
  preflight
  mkdir -p "$DEV/pulumi-state"
  if ! host_running; then
    # A new host starts empty: state left from an earlier one (gone with a reboot, which sandbox hosts do not
    # survive, or with `sandbox.sh down`) would tell pulumi that everything is deployed already.
    forget_stack "no dev host is running: forgetting the state of the one before, so that this up deploys afresh"
    log "booting the sandbox host 'dev' (Debian 12, offline, on 10.231.0.2)"
    bash "$SANDBOX" up dev --release bookworm >/dev/null
  fi
  pulumi stack select dev --create --non-interactive
  pulumi up --stack dev --yes --skip-preview --non-interactive --color never
  write_ca_file
  local address
  address=$(bash "$SANDBOX" list | sed -n 's/.*"name":"dev".*"address":"\([0-9.]*\)".*/\1/p')
  cat <<EOM

The dev stack is deployed: pulumi up --stack dev, on the sandbox host $address, serving $HOSTNAME_.
Clients trust the dev CA, written to $CA_FILE.
Send a test message through 465 and through 587; swaks asks for the password, which is $PASSWORD:
  swaks --server $address:465 --tls-on-connect --tls-verify --tls-ca-path $CA_FILE --tls-sni $HOSTNAME_ --auth PLAIN --auth-user $USER_ --from $USER_ --to root@$HOSTNAME_
  swaks --server $address:587 --tls --tls-verify --tls-ca-path $CA_FILE --tls-sni $HOSTNAME_ --auth LOGIN --auth-user $USER_ --from $USER_ --to root@$HOSTNAME_
Check the endpoint as a mail client would (certificate, TLS versions, STARTTLS, AUTH, no relay):
  VERIFY_PASSWORD=$PASSWORD npm run verify -- $address:$HOSTNAME_ --ca-file $CA_FILE --user $USER_ --password-env VERIFY_PASSWORD
Read the delivered mail:  bash $SANDBOX ssh dev cat /var/mail/root
Tear it all down:         npm run dev:down
EOM
}

down() {
  preflight
  if host_running && [ -d "$DEV/pulumi-state" ] && pulumi stack select dev --non-interactive 2>/dev/null; then
    pulumi destroy --stack dev --yes --skip-preview --non-interactive --color never
  fi
  forget_stack "removing the dev stack's state"
  if host_running; then bash "$SANDBOX" down dev; fi
  rm -rf "$DEV"
  log "dev host and its stack removed"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
