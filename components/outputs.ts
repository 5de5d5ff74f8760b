/**
 * The outputs of one host, by name and shape: what MailSubmission exposes, what the stack program exports under
 * `hosts.<name>`, and what `verify --stack` reads back from `pulumi stack output hosts --json`. Plain data.
 */
import { z } from "zod";

export const hostOutputsSchema = z.object({
  /** URIs of the enabled services, e.g. submissions://mail.example.com:465. */
  endpoints: z.array(z.string()),
  /** SHA-256 fingerprint of the served certificate (hex). */
  certificateSha256: z.string().regex(/^[0-9a-fA-F]{64}$/).optional(),
  /** The certificate's notAfter, ISO 8601. */
  certificateNotAfter: z.string().optional(),
  /**
   * Who holds the certificate: `stack` (selfSigned, ca, provided: the served one must be certificateSha256) or `host`
   * (acme, host: the host renews it, the two outputs above are what was last deployed, and verify checks chain, name
   * and expiry instead). Optional: older stacks have only stack-held certificates.
   */
  certificateSource: z.enum(["stack", "host"]).optional(),
  /** The internal CA certificate clients should trust; null outside `ca` mode (an undefined Output is exported as null). */
  caCertificatePem: z.string().includes("BEGIN CERTIFICATE").nullish(),
  /** SRV records for RFC 6186/8314 autoconfiguration, as zone-file lines. */
  dnsRecords: z.array(z.string()).optional(),
  /** The firewall backend the host turned out to use. */
  firewallBackend: z.string().optional(),
  // The autoconfiguration outputs are newer than the others: optional, so that verify still reads older stacks.
  /** Mozilla's config-v1.1.xml (Thunderbird and others); null without IMAPS and POP3S (it needs an incoming server). */
  autoconfigXml: z.string().nullish(),
  /** Apple's profile for Mail, unsigned; null without IMAPS and POP3S (its Mail payload needs an incoming server). */
  appleMobileconfig: z.string().nullish(),
  /** Where autoconfigXml is to be published, two URLs per served domain; empty when there is no file. */
  autoconfigUrls: z.array(z.string()).optional(),
  /** DKIM TXT records (`selector._domainkey.domain`), retired selectors included; empty with DKIM off. */
  dkimRecords: z.array(z.string()).optional(),
  /** Suggested SPF and DMARC records for the signing domains, to adapt (README, "DKIM"); empty with DKIM off. */
  mailPolicySuggestions: z.array(z.string()).optional(),
});

export type HostOutputName = keyof typeof hostOutputsSchema.shape;
export const HOST_OUTPUT_NAMES = Object.keys(hostOutputsSchema.shape) as HostOutputName[];
