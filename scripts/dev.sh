#!/bin/bash
# The README's main job: a local sandbox host, deployed with the dev stack, ready for a test message.
#   bash scripts/dev.sh up     boot (or reuse) the sandbox host "dev", make its certificates, deploy the dev stack
#   bash scripts/dev.sh down   remove the deployment, then the host
# With a Pulumi engine on PATH (pulumi + pulumi-language-nodejs + the command plugin) this runs `pulumi up`;
# without one (as on the machines this project is built on) it applies the very same steps over SSH.
set -euo pipefail
cd "$(dirname "$0")/.."

SANDBOX=test/sandbox/sandbox.sh
STATE=/var/lib/mail-submission-sandbox
PKI=$STATE/dev/pki # inside the host's state dir, so it goes with the host
HOSTNAME_=mail.sandbox.test
STACK_ADDRESS=$(sed -n 's/^ *host: \([0-9.]*\).*/\1/p' stacks/Pulumi.dev.yaml | head -n1)

log() { printf 'dev: %s\n' "$*" >&2; }

have_engine() {
  command -v pulumi >/dev/null && command -v pulumi-language-nodejs >/dev/null &&
    pulumi plugin ls 2>/dev/null | grep -q '^command '
}

# A local CA and a certificate for the sandbox's hostname (what `certificate.mode: ca` makes with an engine).
make_pki() {
  [ -s "$PKI/fullchain.pem" ] && return 0
  install -d -m 0700 "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=mail-submission dev CA" \
    -keyout "$PKI/ca.key" -out "$PKI/ca.pem" -days 365 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$HOSTNAME_" \
    -keyout "$PKI/privkey.pem" -out "$PKI/server.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -days 90 \
    -extfile <(printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$HOSTNAME_") -out "$PKI/fullchain.pem" 2>/dev/null
  log "made a dev CA ($PKI/ca.pem) and a certificate for $HOSTNAME_"
}

deploy() {
  if have_engine; then
    export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$STATE/pulumi-state} PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE-}
    mkdir -p "$STATE/pulumi-state"
    pulumi stack select dev --create >/dev/null
    pulumi "$@" --stack dev --yes
  else
    log "no Pulumi engine here: applying the component's steps over SSH instead (scripts/engineless.ts)"
    npx ts-node --transpile-only scripts/engineless.ts "$1" dev
  fi
}

up() {
  bash "$SANDBOX" image bookworm
  if ! bash "$SANDBOX" list | grep -q '"name":"dev"'; then bash "$SANDBOX" up dev --release bookworm >/dev/null; fi
  local address
  address=$(cat "$STATE/dev/address")
  [ "$address" = "$STACK_ADDRESS" ] ||
    { log "the sandbox host got $address, but stacks/Pulumi.dev.yaml names $STACK_ADDRESS: start dev before other sandbox hosts"; exit 1; }
  make_pki
  deploy up
  cat <<EOM

The dev host is up at $address, serving $HOSTNAME_ with a certificate from $PKI/ca.pem.
Send a test message; swaks asks for the password, which is dev-sandbox-password:
  swaks --server $address:465 --tls-on-connect --auth PLAIN --auth-user demo@sandbox.test \\
        --from demo@sandbox.test --to root@$HOSTNAME_
  swaks --server $address:587 --tls --auth LOGIN --auth-user demo@sandbox.test \\
        --from demo@sandbox.test --to root@$HOSTNAME_
Verify the chain:  openssl s_client -connect $address:465 -servername $HOSTNAME_ -CAfile $PKI/ca.pem -brief </dev/null
Read the mailbox:  bash $SANDBOX ssh dev cat /var/mail/root
Tear down:         npm run dev:down
EOM
}

down() {
  if bash "$SANDBOX" list | grep -q '"name":"dev"'; then
    deploy destroy
    bash "$SANDBOX" down dev
  fi
  log "dev host removed"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
