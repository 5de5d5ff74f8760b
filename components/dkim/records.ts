/**
 * What the operator publishes in DNS for DKIM (RFC 6376 §3.6.1, RFC 8463 §4.2), in zone-file form beside the SRV
 * records, and the SPF and DMARC records we suggest (suggestions: the operator knows their other senders). Pure.
 */
import { createPublicKey } from "node:crypto";
import type { DkimAlgorithm } from "../host/contract";

/** One key as the records need it: the public half is known at program time (@pulumi/tls). */
export interface DkimPublicKey {
  readonly algorithm: DkimAlgorithm;
  readonly selector: string;
  readonly publicKeyPem: string;
}

const TTL = 3600;

/**
 * The p= value: RSA publishes its SubjectPublicKeyInfo (RFC 6376 §3.6.1), Ed25519 the bare 32-byte key (RFC 8463
 * §4.2), both in base64.
 */
export function publicKeyData(algorithm: DkimAlgorithm, publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ format: "der", type: "spki" });
  return (algorithm === "ed25519" ? der.subarray(der.length - 32) : der).toString("base64");
}

/** The TXT record's text: `v=DKIM1; k=rsa; p=…` (k=ed25519 for Ed25519). */
export function dkimRecordText(key: DkimPublicKey): string {
  return `v=DKIM1; k=${key.algorithm}; p=${publicKeyData(key.algorithm, key.publicKeyPem)}`;
}

/** A TXT record's character-strings hold at most 255 octets each (RFC 1035 §3.3); longer text is split. */
export function quotedStrings(text: string): string {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += 255) parts.push(`"${text.slice(i, i + 255)}"`);
  return parts.join(" ");
}

/** `selector._domainkey.domain. TTL IN TXT "…"` for every domain and key (the retired ones too, until removed). */
export function renderDkimRecords(domains: readonly string[], keys: readonly DkimPublicKey[]): string[] {
  return domains.flatMap((domain) => keys.map((key) => `${key.selector}._domainkey.${domain}. ${TTL} IN TXT ${quotedStrings(dkimRecordText(key))}`));
}

/**
 * Suggested SPF (this host sends the domain's mail; `~all` until every other sender is listed) and DMARC (`p=none`:
 * reports first, then quarantine or reject once they show only aligned mail) records per domain.
 */
export function renderPolicySuggestions(domains: readonly string[], hostname: string): string[] {
  return domains.flatMap((domain) => [
    `${domain}. ${TTL} IN TXT "v=spf1 a:${hostname} ~all"`,
    `_dmarc.${domain}. ${TTL} IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}"`,
  ]);
}
