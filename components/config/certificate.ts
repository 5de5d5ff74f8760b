/**
 * A `provided` certificate is checked before any host is touched, with node:crypto's own X.509 parser: the chain
 * parses, its order is leaf first and then each issuer, the key belongs to the leaf, the leaf names every DNS name
 * clients use, and it is valid now. An expiry close enough to renew is a warning, not an error.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import type { HostConfig } from "./resolve";

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

type Parsed = { ok: true; chain: X509Certificate[]; key: KeyObject } | { ok: false; problems: string[] };

function parse(chainPem: string, keyPem: string, at: string): Parsed {
  const problems: string[] = [];
  const blocks = chainPem.match(PEM_CERT) ?? [];
  const chain: X509Certificate[] = [];
  if (blocks.length === 0) problems.push(`${at}.certificate.chainPem: is not a PEM certificate chain (no BEGIN CERTIFICATE block)`);
  blocks.forEach((block, i) => {
    try {
      chain.push(new X509Certificate(block));
    } catch (e) {
      problems.push(`${at}.certificate.chainPem: certificate ${i + 1} does not parse (${(e as Error).message})`);
    }
  });
  let key: KeyObject | undefined;
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: 4,ENCRYPTED/m.test(keyPem)) {
    // Postfix and Dovecot read the key at every start, with nobody there to type a passphrase.
    problems.push(`${at}.certificate.keyPem: is encrypted (give the key without a passphrase)`);
  } else {
    try {
      key = createPrivateKey(keyPem);
    } catch (e) {
      problems.push(`${at}.certificate.keyPem: is not a PEM private key (${(e as Error).message})`);
    }
  }
  return problems.length === 0 && key !== undefined ? { ok: true, chain, key } : { ok: false, problems };
}

/** The names a certificate lists, as a reader would check them: `DNS:a, DNS:b`. */
const altNames = (leaf: X509Certificate): string => leaf.subjectAltName ?? "no subjectAltName";

/** Every problem of a `provided` certificate, each starting with its key's path; none for other modes. */
export function providedCertificateProblems(host: HostConfig, at: string, now = new Date()): string[] {
  const cert = host.certificate;
  // Values that come from other resources are checked on the host by the certificate step (key and chain match).
  if (cert.mode !== "provided" || typeof cert.chainPem !== "string" || typeof cert.keyPem !== "string") return [];
  if (cert.chainPem === "" || cert.keyPem === "") return []; // reading the file failed: said already
  const parsed = parse(cert.chainPem, cert.keyPem, at);
  if (!parsed.ok) return parsed.problems;
  const { chain, key } = parsed;
  const [leaf] = chain;
  if (leaf === undefined) return [];
  const problems: string[] = [];
  if (!leaf.checkPrivateKey(key)) problems.push(`${at}.certificate.keyPem: does not belong to the first certificate of the chain (${leaf.subject.replaceAll("\n", ", ")})`);
  chain.slice(1).forEach((issuer, i) => {
    if (!chain[i]?.checkIssued(issuer)) {
      problems.push(`${at}.certificate.chainPem: certificate ${i + 2} did not issue certificate ${i + 1}: the order must be the server's certificate first, then each intermediate`);
    }
  });
  for (const name of [host.hostname, ...host.extraSans]) {
    // subject "never": the DNS names of the subjectAltName are what clients check (RFC 6125), not the CN.
    if (leaf.checkHost(name, { subject: "never" }) === undefined) problems.push(`${at}.certificate.chainPem: the certificate does not cover ${name} (it names ${altNames(leaf)})`);
  }
  if (now < new Date(leaf.validFrom)) problems.push(`${at}.certificate.chainPem: the certificate is not valid before ${new Date(leaf.validFrom).toISOString()}`);
  if (now > new Date(leaf.validTo)) problems.push(`${at}.certificate.chainPem: the certificate expired on ${new Date(leaf.validTo).toISOString()}`);
  return problems;
}

/** Legal but doubtful: a provided certificate within its renewal window. */
export function providedCertificateWarnings(host: HostConfig, at: string, now = new Date()): string[] {
  const cert = host.certificate;
  if (cert.mode !== "provided" || typeof cert.chainPem !== "string") return [];
  const block = cert.chainPem.match(PEM_CERT)?.[0];
  if (block === undefined) return [];
  const notAfter = new Date(new X509Certificate(block).validTo);
  const hoursLeft = (notAfter.getTime() - now.getTime()) / 3_600_000;
  return hoursLeft >= 0 && hoursLeft < cert.earlyRenewalHours
    ? [`${at}.certificate: the certificate expires on ${notAfter.toISOString()}, within earlyRenewalHours (${cert.earlyRenewalHours} h): renew it and run pulumi up`]
    : [];
}
