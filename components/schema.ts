/**
 * The one schema of a host's configuration: types, defaults and descriptions live here and nowhere else.
 * Cross-field rules live in rules.ts; turning zod's issues into our messages lives in config.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { isIP } from "node:net";
import { z } from "zod";

/** A secret value: plain text from stack config, or an Output from another resource. */
export const secretString = z.union([
  z.string().min(1, "must not be empty"),
  z.custom<pulumi.Output<string>>((v) => pulumi.Output.isInstance(v), "must be a string or a Pulumi Output"),
]);

const dnsName = z
  .string()
  .max(253, "must be at most 253 characters")
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/i,
    "must be a fully qualified DNS name such as mail.example.com",
  );

const cidr = z.string().refine((s) => {
  const [addr, len, ...rest] = s.split("/");
  if (rest.length > 0 || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (len === undefined) return true;
  const n = Number(len);
  return /^\d+$/.test(len) && n >= 0 && n <= (family === 4 ? 32 : 128);
}, "must be an IPv4 or IPv6 address or CIDR such as 192.0.2.0/24 or 2001:db8::/32");

/** Host keys are pinned in OpenSSH public key form, the way `ssh-keyscan` and known_hosts show them. */
export const sshPublicKey = z
  .string()
  .regex(
    /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa|rsa-sha2-(256|512)) [A-Za-z0-9+/]+={0,3}$/,
    "must be an OpenSSH public host key such as 'ssh-ed25519 AAAA…' (see ssh-keyscan -t ed25519 HOST)",
  );

const hostAddress = z.string().min(1, "must not be empty").refine((s) => isIP(s) !== 0 || dnsName.safeParse(s).success || /^[a-z0-9-]+$/i.test(s), "must be an IP address or a DNS name");

const bastionSchema = z.strictObject({
  host: hostAddress.describe("Bastion address"),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().min(1, "must not be empty"),
  privateKey: secretString.describe("SSH private key for the bastion (secret)"),
  hostKey: sshPublicKey.optional().describe("Pinned host key of the bastion"),
});

export const connectionSchema = z.strictObject({
  host: hostAddress.describe("Address the SSH connection goes to"),
  port: z.number().int().min(1).max(65535).default(22).describe("SSH port"),
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]*\$?$/, "must be a POSIX user name")
    .default("root")
    .describe("root, or a NOPASSWD sudoer: then every privileged step runs through sudo"),
  privateKey: secretString.optional().describe("SSH private key (secret). `pulumi config set --secret --path ...privateKey < key`"),
  privateKeyFile: z.string().min(1).optional().describe("Path of the SSH private key, read at `pulumi up` (instead of privateKey)"),
  hostKey: sshPublicKey.optional().describe("The host's public key, pinned; required unless insecureSkipHostKeyCheck"),
  hostKeyFile: z.string().min(1).optional().describe("Path of a file holding the pinned host key (instead of hostKey)"),
  insecureSkipHostKeyCheck: z.boolean().default(false).describe("Accept any host key. Never in production."),
  bastion: bastionSchema.optional().describe("Jump host"),
});

const selfSignedSchema = z.strictObject({
  mode: z.literal("selfSigned"),
  algorithm: z.enum(["ECDSA-P256", "ECDSA-P384", "RSA-3072", "RSA-4096"]).default("ECDSA-P256"),
  validityHours: z.number().int().min(24).max(24 * 825).default(24 * 365),
  earlyRenewalHours: z.number().int().min(0).default(24 * 30),
});

const caSchema = z.strictObject({
  mode: z.literal("ca"),
  algorithm: z.enum(["ECDSA-P256", "ECDSA-P384", "RSA-3072", "RSA-4096"]).default("ECDSA-P256"),
  commonName: z.string().min(1).default("mail-submission internal CA").describe("Subject CN of the internal CA"),
  caValidityHours: z.number().int().min(24).max(24 * 3650).default(24 * 3650),
  validityHours: z.number().int().min(24).max(24 * 825).default(24 * 365),
  earlyRenewalHours: z.number().int().min(0).default(24 * 30),
});

const providedSchema = z.strictObject({
  mode: z.literal("provided"),
  chainPem: secretString.optional().describe("Server certificate followed by intermediates, PEM (secret)"),
  chainFile: z.string().min(1).optional().describe("Path of the chain PEM, read at `pulumi up` (e.g. an ACME client's fullchain.pem)"),
  keyPem: secretString.optional().describe("Private key of the server certificate, PEM (secret)"),
  keyFile: z.string().min(1).optional().describe("Path of the key PEM, read at `pulumi up` and kept as a secret"),
});

export const certificateSchema = z.discriminatedUnion("mode", [selfSignedSchema, caSchema, providedSchema], {
  error: "must set mode to one of selfSigned, ca, provided",
});

const address = z.string().regex(/^[^\s@:]+@[a-z0-9.-]+\.[a-z]{2,}$/i, "must be an email address");
const senderPattern = z
  .string()
  .regex(/^([^\s@:]+@)?[a-z0-9.-]+\.[a-z]{2,}$|^@[a-z0-9.-]+\.[a-z]{2,}$/i, "must be an address or @domain");

export const userSchema = z
  .strictObject({
    name: z
      .string()
      .min(1, "must not be empty")
      .regex(/^[A-Za-z0-9._+@-]+$/, "may only contain letters, digits and . _ + @ -")
      .describe("Login name (usually the email address)"),
    password: secretString.optional().describe("Password (secret); hashed with SHA512-CRYPT before it leaves"),
    passwordHash: z
      .string()
      .regex(/^\{(SHA512-CRYPT|SHA256-CRYPT|BLF-CRYPT|ARGON2ID|ARGON2I)\}\S+$/, "must be a Dovecot hash such as {SHA512-CRYPT}$6$…")
      .optional()
      .describe("Precomputed Dovecot hash, e.g. from `doveadm pw -s SHA512-CRYPT`"),
    senders: z.array(senderPattern).min(1).optional().describe("Envelope senders this login may use; default: the login itself"),
  })
  .refine((u) => (u.password === undefined) !== (u.passwordHash === undefined), {
    message: "exactly one of password or passwordHash is required",
    path: ["password"],
  });

const portRule = z.array(cidr).min(1).default(["0.0.0.0/0", "::/0"]);

export const hostSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/, "must be a short lower-case name (letters, digits, -)")
    .describe("Resource name of this host within the stack"),
  connection: connectionSchema,
  hostname: dnsName.describe("FQDN that clients connect to; the certificate names it"),
  extraSans: z.array(dnsName).default([]).describe("Further DNS names in the certificate"),
  certificate: certificateSchema.prefault({ mode: "selfSigned" }),
  users: z.array(userSchema).default([]),
  authBackend: z
    .enum(["passwd-file", "system"])
    .default("passwd-file")
    .describe("passwd-file: only the listed users; system: PAM (system accounts)"),
  services: z
    .strictObject({
      submissions: z.boolean().default(true).describe("Port 465, implicit TLS (RFC 8314 §3.3)"),
      submission: z.boolean().default(true).describe("Port 587, STARTTLS required"),
      imaps: z.boolean().default(false).describe("Port 993, IMAP over implicit TLS (RFC 8314 §3.2)"),
    })
    .prefault({}),
  tls: z
    .strictObject({
      profile: z.enum(["intermediate", "modern"]).default("intermediate").describe("Mozilla profile: intermediate = TLS 1.2+, modern = TLS 1.3"),
    })
    .prefault({}),
  firewall: z
    .strictObject({
      backend: z.enum(["auto", "nftables", "ufw", "firewalld", "none"]).default("auto"),
      allow: z
        .strictObject({ submissions: portRule, submission: portRule, imaps: portRule })
        .prefault({})
        .describe("Source CIDRs allowed per port"),
    })
    .prefault({}),
  senderPolicy: z
    .strictObject({
      loginMatch: z.boolean().default(true).describe("reject_sender_login_mismatch: a login may only use its own senders"),
      hideClientIp: z.boolean().default(true).describe("Strip the Received header that names the client's IP"),
      systemDomains: z
        .array(dnsName)
        .default([])
        .describe("authBackend system: login X may send as X@ (or X+tag@) each of these domains"),
    })
    .prefault({}),
  srvDomains: z.array(dnsName).optional().describe("Domains whose RFC 6186 SRV records point here; default: the users' domains"),
  postfixExtraSettings: z
    .record(z.string().regex(/^[a-z][a-z0-9_]*$/, "must be a Postfix parameter name"), z.string().regex(/^\S*$/, "must not contain white space"))
    .default({})
    .describe("Extra -o settings for both submission services (escape hatch)"),
  dovecotExtraConfig: z.string().default("").describe("Raw lines appended to the Dovecot drop-in (escape hatch)"),
});

export const stackSchema = z.strictObject({
  environment: z.string().min(1).describe("Environment name; 'production' turns on the production rules"),
  allowSelfSignedInProduction: z.boolean().default(false),
  hosts: z.array(hostSchema).min(1, "at least one host is required"),
});

export type HostInput = z.input<typeof hostSchema>;
export type HostConfig = z.output<typeof hostSchema>;
export type StackConfig = z.output<typeof stackSchema>;
export type UserConfig = z.output<typeof userSchema>;
export { address };
