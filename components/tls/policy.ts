/**
 * TLS policy shared by Postfix and Dovecot, after Mozilla's server-side TLS guidelines (v5.7).
 * intermediate: TLS 1.2 and 1.3, AEAD suites with forward secrecy; modern: TLS 1.3 only.
 */
export interface TlsPolicy {
  /** Postfix protocol list; the "!" form works on every Postfix 3.x, unlike ">=TLSv1.2" (3.6+). */
  readonly postfixProtocols: string;
  readonly minProtocol: "TLSv1.2" | "TLSv1.3";
  /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are OpenSSL's defaults, all strong). */
  readonly cipherList: string;
  readonly excludedCiphers: string;
}

const INTERMEDIATE_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "DHE-RSA-AES128-GCM-SHA256",
  "DHE-RSA-AES256-GCM-SHA384",
  "DHE-RSA-CHACHA20-POLY1305",
].join(":");

const EXCLUDED = "aNULL,eNULL,EXPORT,DES,3DES,RC4,MD5,PSK,SRP,CAMELLIA,SEED,IDEA";

export function tlsPolicy(profile: "intermediate" | "modern"): TlsPolicy {
  return profile === "modern"
    ? { postfixProtocols: "!SSLv2,!SSLv3,!TLSv1,!TLSv1.1,!TLSv1.2", minProtocol: "TLSv1.3", cipherList: INTERMEDIATE_CIPHERS, excludedCiphers: EXCLUDED }
    : { postfixProtocols: "!SSLv2,!SSLv3,!TLSv1,!TLSv1.1", minProtocol: "TLSv1.2", cipherList: INTERMEDIATE_CIPHERS, excludedCiphers: EXCLUDED };
}
