/**
 * The key algorithms a server certificate may have: the schema offers these, the certificate step makes them.
 * Named explicitly, never the tls provider's ECDSA default (P-224, which modern clients refuse). Plain data.
 */
export const KEY_ALGORITHMS = ["ECDSA-P256", "ECDSA-P384", "RSA-3072", "RSA-4096"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];
/** acme mode: what the ACME client makes (lego 4.9 on Debian 12 has no rsa3072). */
export const ACME_KEY_ALGORITHMS = ["ECDSA-P256", "ECDSA-P384", "RSA-4096"] as const satisfies readonly KeyAlgorithm[];
export type AcmeKeyAlgorithm = (typeof ACME_KEY_ALGORITHMS)[number];
