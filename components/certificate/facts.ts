/**
 * What the outputs and the check step say about a certificate: its fingerprint as the host script computes it
 * (host/probes.sh `fingerprint_of`) and its expiry.
 */
import { X509Certificate } from "node:crypto";

export interface CertificateFacts {
  /** SHA-256 of the leaf certificate (DER), lower-case hex without colons. */
  readonly sha256: string;
  /** notAfter as an ISO 8601 timestamp. */
  readonly notAfter: string;
}

export function certificateFacts(chainPem: string): CertificateFacts {
  const leaf = new X509Certificate(chainPem);
  return {
    sha256: leaf.fingerprint256.replaceAll(":", "").toLowerCase(),
    notAfter: new Date(leaf.validTo).toISOString(),
  };
}
