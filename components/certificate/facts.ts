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

/** The facts the certificate step reports of the pair it serves (install.sh `served_facts`), where the host made it. */
export function servedFacts(stdout: string): CertificateFacts {
  const sha256 = /^sha256=([0-9a-f]{64})$/m.exec(stdout)?.[1];
  const notAfter = /^notAfter=(\S+)$/m.exec(stdout)?.[1];
  if (sha256 === undefined || notAfter === undefined) throw new Error("internal error: the certificate step reported no served certificate");
  return { sha256, notAfter };
}
