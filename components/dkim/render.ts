/**
 * opendkim as the signer of our submission services, one instance per algorithm (opendkim signs with one algorithm
 * per process): its configuration, key and signing tables, and the systemd template unit. Nothing of a host's own
 * opendkim (/etc/opendkim.conf, opendkim.service) is read or changed. Pure.
 * Reference: opendkim.conf(5).
 */
import type { HostConfig } from "../config/resolve";
import { DKIM_ALGORITHMS, dkimPaths, type DkimAlgorithm } from "../host/contract";

const MANAGED = "# Managed by mail-submission (pulumi). Removed again by `pulumi destroy`.";

/** The header fields every signature covers (RFC 6376 §5.4.1's list, From first), From oversigned so none is added. */
export const SIGNED_HEADERS = ["From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc", "In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"];

/** The algorithms a host signs with: RSA always, Ed25519 beside it when asked. */
export function dkimAlgorithms(host: HostConfig): DkimAlgorithm[] {
  return host.dkim.enabled ? ["rsa", ...(host.dkim.ed25519 ? (["ed25519"] as const) : [])] : [];
}

/** An Ed25519 key needs a selector of its own: a verifier looks one key up per selector. */
export function selectorFor(algorithm: DkimAlgorithm, selector: string): string {
  return algorithm === "rsa" ? selector : `${selector}-${algorithm}`;
}

export function renderOpendkimConf(algorithm: DkimAlgorithm): string {
  return [
    MANAGED,
    "Syslog yes",
    "SyslogSuccess yes",
    // Says in the journal why a message was not signed (a From outside the signing domains, say).
    "LogWhy yes",
    // Sign only: these services take mail from our own logins; verifying is the receiving side's business.
    "Mode s",
    `SignatureAlgorithm ${DKIM_ALGORITHMS[algorithm]}`,
    "Canonicalization relaxed/relaxed",
    `SignHeaders ${SIGNED_HEADERS.join(",")}`,
    "OversignHeaders From",
    `KeyTable file:${dkimPaths.keyTable(algorithm)}`,
    // refile: the signing table's left side is a pattern (*@domain), matched against the From address.
    `SigningTable refile:${dkimPaths.signingTable(algorithm)}`,
    `Socket local:${dkimPaths.socketAbsolute(algorithm)}`,
    // Group postfix, socket mode 0660: Postfix, and only Postfix, can reach the signer.
    "UserID opendkim:postfix",
    "UMask 0007",
    "RequireSafeKeys yes",
    "",
  ].join("\n");
}

/** `name domain:selector:keyfile` for each signing domain: one key per selector, shared by the domains. */
export function renderKeyTable(host: HostConfig, algorithm: DkimAlgorithm): string {
  const selector = selectorFor(algorithm, host.dkim.selector);
  const lines = host.dkim.domains.map((d) => `${selector}.${d} ${d}:${selector}:${dkimPaths.key(algorithm, selector)}`);
  return [MANAGED, ...lines, ""].join("\n");
}

/** `*@domain name`: mail whose From is in a signing domain is signed with that domain's key; other mail is not. */
export function renderSigningTable(host: HostConfig, algorithm: DkimAlgorithm): string {
  const selector = selectorFor(algorithm, host.dkim.selector);
  // refile patterns are wildcards where only `*` is special, so a domain stands as it is.
  const lines = host.dkim.domains.map((d) => `*@${d} ${selector}.${d}`);
  return [MANAGED, ...lines, ""].join("\n");
}

/** The template unit: `mail-submission-opendkim@rsa`, `@ed25519`, each on its own configuration. */
export function renderOpendkimUnit(): string {
  return [
    MANAGED,
    "[Unit]",
    `Description=opendkim for mail-submission: %i signatures on the submission services`,
    "Documentation=man:opendkim(8) man:opendkim.conf(5)",
    "After=network.target",
    "Before=postfix.service",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${dkimPaths.bin} -f -x ${dkimPaths.conf("%i")}`,
    // opendkim re-reads its configuration and keys on SIGUSR1, without dropping a connection.
    "ExecReload=/bin/kill -USR1 $MAINPID",
    "Restart=on-failure",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}
