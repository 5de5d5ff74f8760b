/**
 * The certificate part of the schema (config/schema.ts holds the rest): where the server certificate comes from.
 * Made here (selfSigned, ca), given as PEMs (provided), obtained and renewed by the host from an ACME CA (acme), or
 * files the host already has (host). Every value that reaches a host file has its grammar here.
 */
import { X509Certificate } from "node:crypto";
import { z } from "zod";
import { ACME_KEY_ALGORITHMS, KEY_ALGORITHMS } from "../certificate/algorithms";
import { isSenderAddress } from "./grammar";

const secret = z.string().min(1, "must not be empty");

const keyAlgorithm = () =>
  z.enum(KEY_ALGORITHMS).default("ECDSA-P256").describe("Key of the server certificate (never the tls provider's P-224 default)");
const validityHours = () => z.number().int().min(24).max(24 * 825).default(24 * 365).describe("Lifetime of the server certificate");
const earlyRenewalHours = () =>
  z.number().int().min(0).default(24 * 30).describe("A new certificate is made at the first `up` within this much of its expiry");

/** An absolute path on the host, as it lands in a shell word and a systemd unit: no spaces, quotes, `%` or `..`. */
const hostPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._+@/-]*$/, "must be an absolute path of letters, digits and . _ + @ - /")
  .refine((p) => !p.split("/").includes(".."), "must not contain ..");

/** One certificate or more, PEM, each parsed by node:crypto's own X.509 parser. */
const pemCertificates = z.string().superRefine((s, ctx) => {
  const blocks = s.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) ctx.addIssue({ code: "custom", message: "must be PEM certificates (no BEGIN CERTIFICATE block)" });
  blocks.forEach((b, i) => {
    try {
      new X509Certificate(b);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: `certificate ${i + 1} does not parse (${(e as Error).message})` });
    }
  });
});

const selfSignedSchema = z.strictObject({
  mode: z.literal("selfSigned"),
  algorithm: keyAlgorithm(),
  validityHours: validityHours(),
  earlyRenewalHours: earlyRenewalHours(),
});

const caSchema = z.strictObject({
  mode: z.literal("ca"),
  algorithm: keyAlgorithm(),
  commonName: z.string().min(1).default("mail-submission internal CA").describe("Subject CN of the internal CA; its certificate is the `caCertificatePem` output"),
  caValidityHours: z.number().int().min(24).max(24 * 3650).default(24 * 3650).describe("Lifetime of the internal CA"),
  validityHours: validityHours(),
  earlyRenewalHours: earlyRenewalHours(),
});

const providedSchema = z.strictObject({
  mode: z.literal("provided"),
  chainPem: secret
    .optional()
    .describe(
      "Server certificate followed by intermediates, PEM (secret). Checked before any host is touched: it parses, leaf first " +
        "then each issuer, the key belongs to it, it covers `hostname` and every `extraSans`, and it is valid now",
    ),
  chainFile: z.string().min(1).optional().describe("Path of the chain PEM, read at `pulumi up` (e.g. an ACME client's fullchain.pem)"),
  keyPem: secret.optional().describe("Private key of the server certificate, PEM (secret, not encrypted)"),
  keyFile: z.string().min(1).optional().describe("Path of the key PEM, read at `pulumi up` and kept as a secret"),
  earlyRenewalHours: z.number().int().min(0).default(24 * 30).describe("`up` warns when less than this is left of the certificate"),
});

/** `host:port` or `[v6]:port`, as lego's --dns.resolvers takes it. */
const resolver = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/, "must be host:port or [IPv6]:port, e.g. 192.0.2.53:53");

const challengeSchema = z.discriminatedUnion(
  "type",
  [
    z.strictObject({
      type: z.literal("http-01"),
      webroot: hostPath
        .optional()
        .describe("Where the web server that owns port 80 serves /.well-known/acme-challenge/ from; unset: the ACME client answers on port 80 itself, opened only during the challenge"),
    }),
    z.strictObject({ type: z.literal("tls-alpn-01") }),
    z.strictObject({
      type: z.literal("dns-01"),
      provider: z.string().regex(/^[a-z0-9]+$/, "must be a lego DNS provider code such as rfc2136, cloudflare or route53").describe("lego's DNS provider code (`lego dnshelp`)"),
      credentials: z
        .record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must be an environment variable name such as RFC2136_TSIG_SECRET"), secret.regex(/^[^\n\r\0]*$/, "must be one line"))
        .default({})
        .describe("The provider's environment variables (secrets), e.g. RFC2136_NAMESERVER, RFC2136_TSIG_KEY, RFC2136_TSIG_SECRET; stored on the host in a root-only file"),
      resolvers: z.array(resolver).default([]).describe("DNS servers that check the record is visible before the CA is asked (default: the host's)"),
    }),
  ],
  { error: "must set type to one of http-01, tls-alpn-01, dns-01" },
);

export const LETS_ENCRYPT = {
  production: "https://acme-v02.api.letsencrypt.org/directory",
  staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
} as const;

const acmeSchema = z.strictObject({
  mode: z.literal("acme"),
  server: z
    .string()
    .regex(/^https:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/%-]*)?$/, "must be an https:// directory URL such as https://acme-v02.api.letsencrypt.org/directory")
    .optional()
    .describe("ACME directory URL; default Let's Encrypt production in production stacks, Let's Encrypt staging elsewhere"),
  email: z.string().refine(isSenderAddress, "must be an email address such as hostmaster@example.com").optional().describe("Account contact for the CA"),
  acceptTermsOfService: z.literal(true, "must be true: the ACME account agrees to the CA's terms of service").describe("Agree to the CA's terms of service (required)"),
  caBundle: pemCertificates.optional().describe("PEM of the CA the ACME client trusts for the server's HTTPS (a private CA such as step-ca); default: the host's trust store"),
  challenge: challengeSchema.prefault({ type: "http-01" }).describe("How the CA checks the host owns its names"),
  algorithm: z
    .enum(ACME_KEY_ALGORITHMS)
    .default("ECDSA-P256")
    .describe("Key of the server certificate, made by the ACME client (RSA-3072 is not among lego's key types on Debian 12)"),
  earlyRenewalHours: z
    .number()
    .int()
    .min(24)
    .max(24 * 180)
    .default(24 * 30)
    .describe("The host's daily timer renews when less than this is left (rounded up to whole days)"),
});

const hostFilesSchema = z.strictObject({
  mode: z.literal("host"),
  chainPath: hostPath.describe("Chain PEM already on the host, leaf first (e.g. /etc/letsencrypt/live/NAME/fullchain.pem); every change is picked up"),
  keyPath: hostPath.describe("Its key on the host (e.g. /etc/letsencrypt/live/NAME/privkey.pem)"),
});

export const certificateSchema = z.discriminatedUnion("mode", [selfSignedSchema, caSchema, providedSchema, acmeSchema, hostFilesSchema], {
  error: "must set mode to one of selfSigned, ca, provided, acme, host",
});
