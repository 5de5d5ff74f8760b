/**
 * The one schema of a stack's and a host's configuration: types, defaults and descriptions live here and nowhere
 * else (the certificate's part is config/certificateSchema.ts). Reading the files it names is config/resolve.ts; cross-field rules and our messages are config/parse.ts;
 * value grammars are config/grammar.ts.
 */
import { isIP } from "node:net";
import isFQDN from "validator/lib/isFQDN";
import { z } from "zod";
import { dovecotExtraProblems } from "../dovecot/extraConfig";
import { PERMIT_GUARANTEE, PERMIT_VALUE_ERE, POSTFIX_GUARDS } from "../postfix/guards";
import { certificateSchema } from "./certificateSchema";
import { guardFor, isDomain, isSenderAddress, parseCidr, passwordHashProblem, POSTFIX_VALUE, sshHostKeyProblem } from "./grammar";

/**
 * A secret value, as text: one from another resource is settled before the schema sees it (config/inputs.ts), and
 * the component keeps it a Pulumi secret from there on.
 */
export const secretString = z.string().min(1, "must not be empty");

const dnsName = z.string().refine(isDomain, "must be a fully qualified DNS name such as mail.example.com");

/** A network, written strictly, then normalised (overwrite keeps it a plain string for zod's JSON Schema). */
const cidr = z
  .string()
  .superRefine((s, ctx) => {
    const parsed = parseCidr(s);
    if (typeof parsed === "string") {
      ctx.addIssue({ code: "custom", message: `must be an IPv4 or IPv6 address or CIDR such as 192.0.2.0/24 or 2001:db8::/32: '${s}' ${parsed}` });
    }
  })
  .overwrite((s) => {
    const parsed = parseCidr(s);
    return typeof parsed === "string" ? s : parsed.text;
  });

/** Host keys are pinned in OpenSSH public key form, the way `ssh-keyscan` and known_hosts show them. */
export const sshPublicKey = z.string().superRefine((s, ctx) => {
  const problem = sshHostKeyProblem(s);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: `must be an OpenSSH public host key: ${problem}` });
});

/** Where SSH goes: an IP address or a DNS name (never anything ssh could read as an option, such as "-oProxyCommand=…"). */
const hostAddress = z
  .string()
  .min(1, "must not be empty")
  .refine((s) => isIP(s) !== 0 || isFQDN(s, { require_tld: false, allow_underscores: false }), "must be an IP address or a DNS name");

const posixUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a POSIX user name (lower case, digits, _ and -)");

const bastionSchema = z.strictObject({
  host: hostAddress.describe("Bastion address"),
  port: z.number().int().min(1).max(65535).default(22).describe("Bastion SSH port"),
  user: posixUser.describe("Login on the bastion"),
  privateKey: secretString.describe("SSH private key for the bastion (secret)"),
  hostKey: sshPublicKey.optional().describe("Pinned host key of the bastion; required in production"),
});

export const connectionSchema = z.strictObject({
  host: hostAddress.describe("Where SSH goes: an IP address or a DNS name (one server per host entry)"),
  port: z.number().int().min(1).max(65535).default(22).describe("SSH port"),
  user: posixUser
    .default("root")
    .describe("root, or a NOPASSWD sudoer: every step then runs through `sudo -n`"),
  privateKey: secretString.optional().describe("SSH private key (secret). `pulumi config set --secret --path ...privateKey < key`"),
  privateKeyFile: z.string().min(1).optional().describe("Path of the SSH private key, read at `pulumi up` (instead of privateKey)"),
  hostKey: sshPublicKey
    .optional()
    .describe("The host's public key, pinned (`ssh-ed25519 AAAA…`, decoded and checked against its type); required unless insecureSkipHostKeyCheck"),
  hostKeyFile: z.string().min(1).optional().describe("Path of a file holding the pinned host key (instead of hostKey)"),
  insecureSkipHostKeyCheck: z.boolean().default(false).describe("Accept any host key; refused in production"),
  bastion: bastionSchema.optional().describe("Jump host"),
});

const address = z.string().refine(isSenderAddress, "must be an email address such as alice@example.com (no quoted local part, no leading '#')");
const senderPattern = z
  .string()
  .refine((s) => (s.startsWith("@") ? isDomain(s.slice(1)) : isSenderAddress(s)), "must be an address such as bob@example.com or a domain such as @example.com");

const loginName = z
  .string()
  .min(1, "must not be empty")
  .regex(/^[A-Za-z0-9._+@-]+$/, "may only contain letters, digits and . _ + @ -");

export const userSchema = z
  .strictObject({
    name: loginName.describe("Login, usually the address (letters, digits, `._+@-`)"),
    password: secretString.optional().describe("Password (secret); hashed with SHA512-CRYPT before it leaves the program, so only hashes reach the host"),
    passwordHash: z
      .string()
      .superRefine((s, ctx) => {
        const problem = passwordHashProblem(s);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional()
      .describe(
        "A hash of a known scheme in its tools' form instead of password: `{SHA512-CRYPT}$6$…`, `{SHA256-CRYPT}$5$…`, `{BLF-CRYPT}$2y$NN$…`, `{ARGON2ID}$argon2id$v=19$…`",
      ),
    senders: z
      .array(senderPattern)
      .min(1)
      .optional()
      .describe("Envelope senders this login may use, addresses per RFC 5321 (no quoted local part, no leading `#`) or `@domain`; default: the login itself"),
  })
  .refine((u) => (u.password === undefined) !== (u.passwordHash === undefined), {
    message: "exactly one of password or passwordHash is required",
    path: ["password"],
  });

/** A DKIM selector: one DNS label (RFC 6376 §3.1 allows dotted ones; one label keeps the records simple). */
const dkimSelector = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be one lower-case DNS label (letters, digits, -), such as mail or 2026-12");

export const dkimSchema = z
  .strictObject({
    enabled: z.boolean().optional().describe("DKIM-sign mail submitted on 465/587 (opendkim, never on port 25); default: on in production stacks"),
    domains: z
      .array(dnsName)
      .min(1)
      .optional()
      .describe("Signing domains: mail whose From is in one of them is signed; default: the domains of the users' logins and senders (or systemDomains)"),
    selector: dkimSelector.default("mail").describe("Selector of the signing key, published as `<selector>._domainkey.<domain>`"),
    ed25519: z
      .boolean()
      .default(false)
      .describe("Also sign with an Ed25519 key (RFC 8463), selector `<selector>-ed25519`, beside the RSA-2048 signature every verifier reads"),
    nextSelector: dkimSelector
      .optional()
      .describe("A selector whose key is made and published in `dkimRecords` but does not sign yet: publish it, wait for its TTL, then make it `selector`"),
    retiredSelectors: z
      .array(dkimSelector)
      .default([])
      .describe("Selectors no longer signing whose keys and records are kept, so that mail already sent still verifies; drop one once its TTL has passed"),
  })
  .prefault({})
  .describe("DKIM signing of submitted mail; the records to publish are the `dkimRecords` output");

/** Source networks allowed to reach one port; a schema per port, each with its own description. */
const portRule = (port: string) =>
  z
    .array(cidr)
    .min(1)
    .default(["0.0.0.0/0", "::/0"])
    .describe(`Source networks allowed to reach ${port}, IPv4 and IPv6, written strictly (no zone ids, no host bits, no leading zeros)`);

export const hostSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/, "must be a short lower-case name (letters, digits, -)")
    .describe("Resource name of this host within the stack"),
  connection: connectionSchema.describe("How the deployment reaches the server over SSH"),
  hostname: dnsName.describe("FQDN that clients connect to; the certificate names it"),
  extraSans: z.array(dnsName).default([]).describe("Further DNS names in the certificate"),
  certificate: certificateSchema.prefault({ mode: "selfSigned" }).describe("The server certificate served on every port: made here (selfSigned, ca), given (provided), obtained and renewed by the host (acme), or the host's own files (host)"),
  users: z.array(userSchema).default([]).describe("The logins of the passwd-file backend"),
  authBackend: z
    .enum(["passwd-file", "system"])
    .default("passwd-file")
    .describe("`passwd-file`: only the listed users; `system`: the host's accounts through PAM"),
  services: z
    .strictObject({
      submissions: z.boolean().default(true).describe("Port 465, implicit TLS (RFC 8314 §3.3)"),
      submission: z.boolean().default(true).describe("Port 587, STARTTLS required"),
      imaps: z.boolean().default(false).describe("Port 993, IMAP over implicit TLS (RFC 8314 §3.2)"),
      pop3s: z.boolean().default(false).describe("Port 995, POP3 over implicit TLS (RFC 8314 §3.2); the same users, TLS policy and mailboxes as IMAPS"),
    })
    .prefault({})
    .describe("The services to serve; at least one of submissions and submission"),
  tls: z
    .strictObject({
      profile: z
        .enum(["intermediate", "modern"])
        .default("intermediate")
        .describe("Mozilla's profiles: `intermediate` is TLS 1.2+, `modern` TLS 1.3 only"),
    })
    .prefault({})
    .describe("TLS policy of every port we serve"),
  firewall: z
    .strictObject({
      backend: z
        .enum(["auto", "nftables", "ufw", "firewalld", "none"])
        .default("auto")
        .describe("`auto` (firewalld or ufw when active, else nftables), `nftables`, `ufw`, `firewalld` or `none`. Only accepts are added; SSH and the operator's rules are never touched"),
      allow: z
        .strictObject({ submissions: portRule("465"), submission: portRule("587"), imaps: portRule("993"), pop3s: portRule("995") })
        .prefault({})
        .describe("Source CIDRs allowed per port"),
    })
    .prefault({})
    .describe("The host firewall: only our ports are opened, and only to the networks allowed"),
  senderPolicy: z
    .strictObject({
      loginMatch: z.boolean().default(true).describe("`reject_sender_login_mismatch` with a map built from `users`: a login may only use its own senders"),
      hideClientIp: z
        .boolean()
        .default(true)
        .describe("Cut the client's name and IP (the first line) from the authenticated hop's Received header; the TLS details, `by … with ESMTPSA id …` and the date stay"),
      systemDomains: z
        .array(dnsName)
        .default([])
        .describe("`system` backend: login `x` may send as `x@` and `x+tag@` these domains (required while loginMatch is on)"),
    })
    .prefault({})
    .describe("Which envelope senders a login may use, and what the Received header shows"),
  dkim: dkimSchema,
  srvDomains: z
    .array(dnsName)
    .optional()
    .describe("Domains whose RFC 6186 SRV records and autoconfig files point here; default: the users' domains (or the hostname's parent)"),
  limits: z
    .strictObject({
      authPerMinute: z.number().int().min(1).max(1000).default(10).describe("AUTH commands per client IP and minute (smtpd_client_auth_rate_limit)"),
      connectionsPerMinute: z.number().int().min(1).max(10000).default(60).describe("New connections per client address and minute"),
      concurrentConnections: z.number().int().min(1).max(1000).default(10).describe("Simultaneous connections per client address"),
      errorsBeforeDelay: z.number().int().min(1).max(100).default(3).describe("Errors (a failed AUTH is one) after which each reply is delayed 1 s"),
      errorsBeforeDisconnect: z.number().int().min(1).max(100).default(10).describe("Errors after which the session is closed"),
      authFailureDelaySeconds: z.number().int().min(0).max(15).default(2).describe("Dovecot's delay before it answers a failed login"),
      dovecotPenalty: z
        .boolean()
        .default(false)
        .describe(
          "Dovecot's own per-address penalty, which grows to 15 s per failed login and lasts up to an hour. Off by default: " +
            "Postfix waits about 10 s for Dovecot, so with it on, everyone behind an address that guessed wrong gets 454 for that long",
        ),
      outbound: z
        .boolean()
        .optional()
        .describe("Per-login sending limits on 465/587 (policyd-rate-limit instances of our own; never on port 25); default: on in production stacks"),
      messagesPerHour: z
        .number()
        .int()
        .min(1)
        .max(100000)
        .default(200)
        .describe("Messages a login may send in any 60 minutes (Debian 12's policyd-rate-limit counts each recipient as a message)"),
      recipientsPerDay: z.number().int().min(1).max(1000000).default(2000).describe("Recipients a login may send to in any 24 hours"),
      perLogin: z
        .record(
          loginName,
          z
            .strictObject({
              messagesPerHour: z.number().int().min(1).max(100000).optional().describe("This login's messagesPerHour; default: limits.messagesPerHour"),
              recipientsPerDay: z.number().int().min(1).max(1000000).optional().describe("This login's recipientsPerDay; default: limits.recipientsPerDay"),
            })
            .describe("One login's own limits"),
        )
        .default({})
        .describe("Limits of their own for some logins, e.g. `{ \"newsletter@example.com\": { recipientsPerDay: 20000 } }`; the rest keep the defaults"),
      whenLimiterDown: z
        .enum(["defer", "permit"])
        .default("defer")
        .describe("When the limiter does not answer: `defer` (4xx, the client retries later) or `permit` (mail flows unlimited until it is back)"),
    })
    .prefault({})
    .describe("Brute-force limits on 465/587 (Postfix anvil) and Dovecot, and per-login sending limits; clients in Postfix's mynetworks are exempt from anvil's"),
  bans: z
    .strictObject({
      enabled: z
        .boolean()
        .optional()
        .describe("Ban addresses that keep failing to log in (fail2ban, an instance of our own) in the host's firewall; default: on in production stacks"),
      maxFailures: z.number().int().min(1).max(100).default(5).describe("Failed logins (SMTP AUTH, IMAP, POP3) from one address within findTimeSeconds that ban it"),
      findTimeSeconds: z.number().int().min(60).max(30 * 86400).default(3600).describe("The window in which failures are counted"),
      banTimeSeconds: z.number().int().min(10).max(365 * 86400).default(3600).describe("How long the first ban lasts"),
      increment: z.boolean().default(true).describe("Each further ban of the same address lasts twice as long as its last (fail2ban's bantime.increment)"),
      maxBanTimeSeconds: z.number().int().min(10).max(365 * 86400).default(7 * 86400).describe("The longest a ban grows to"),
      includeSsh: z.boolean().default(false).describe("Also close the SSH port (connection.port) to banned addresses; off: a ban never touches SSH"),
    })
    .prefault({})
    .describe("Bans of password guessers: on every port we serve, in the firewall backend we manage"),
  driftCheck: z
    .boolean()
    .default(false)
    .describe("Read the host at every preview/up (one SSH session) and re-run the steps whose files or services were changed by hand (see Drift on the host)"),
  packages: z
    .strictObject({
      onDestroy: z
        .enum(["remove", "disable", "keep"])
        .default("remove")
        .describe("What destroy does with the packages this component installed: remove them, stop and disable their services, or keep them"),
    })
    .prefault({})
    .describe("The Debian packages this component installs"),
  postfixExtraSettings: z
    .record(z.string(), z.string())
    .default({})
    .superRefine((settings, ctx) => {
      for (const [name, value] of Object.entries(settings)) {
        if (!/^[a-z][a-z0-9_]*$/.test(name)) ctx.addIssue({ code: "custom", path: [name], message: "must be a Postfix parameter name" });
        const guarantee = guardFor(POSTFIX_GUARDS, name);
        if (guarantee !== undefined) ctx.addIssue({ code: "custom", path: [name], message: `is managed by mail-submission: it carries ${guarantee}` });
        if (!POSTFIX_VALUE.test(value)) ctx.addIssue({ code: "custom", path: [name], message: "must be one token of printable ASCII: no white space, no braces" });
        else if (new RegExp(PERMIT_VALUE_ERE).test(value)) ctx.addIssue({ code: "custom", path: [name], message: `may not carry a permit keyword: it would weaken ${PERMIT_GUARANTEE}` });
      }
    })
    .describe("Extra `-o` settings for both submission services (escape hatch): one token each; settings that carry a guarantee, or who is trusted, are refused"),
  dovecotExtraConfig: z
    .string()
    .default("")
    .superRefine((text, ctx) => {
      for (const problem of dovecotExtraProblems(text)) ctx.addIssue({ code: "custom", message: problem });
    })
    .describe("Lines appended to our Dovecot instance's configuration (escape hatch): `key = value`, sections, comments; no `!include`; settings and sections that carry a guarantee are refused"),
});

/** Stacks named like this get the production rules unless their config says `production: false`. */
export const PRODUCTION_STACK_NAMES = ["production", "prod", "prd"];

export function isProductionStackName(stack: string): boolean {
  return PRODUCTION_STACK_NAMES.includes(stack.toLowerCase());
}

export const stackSchema = z
  .strictObject({
    stack: z.string().min(1).optional().describe("The stack's name (the program passes it); production defaults by it"),
    production: z
      .boolean()
      .optional()
      .describe("The production rules; default: true for stacks named production, prod or prd in any case. `up` prints `production rules: on/off`"),
    allowSelfSignedInProduction: z.boolean().default(false).describe("Lets a production stack use selfSigned certificates"),
    driftCheck: z
      .boolean()
      .default(false)
      .describe("driftCheck for every host; also on for one run with `MAIL_SUBMISSION_DRIFT_CHECK=1`"),
    hosts: z.array(hostSchema).min(1, "at least one host is required"),
  })
  .superRefine((s, ctx) => {
    if (s.production === undefined && s.stack === undefined) ctx.addIssue({ code: "custom", path: ["production"], message: "required (or the stack's name)" });
  })
  .transform(({ stack, production, driftCheck, hosts, ...rest }) => ({
    ...rest,
    production: production ?? isProductionStackName(stack ?? ""),
    driftCheck,
    hosts: hosts.map((h) => (driftCheck ? { ...h, driftCheck: true } : h)),
  }));

export type SecretString = z.output<typeof secretString>;
export type HostInput = z.input<typeof hostSchema>;
/** A host's config as the schema gives it, before its files are read (config/resolve.ts). */
export type ParsedHost = z.output<typeof hostSchema>;
export type ParsedStack = z.output<typeof stackSchema>;
export type UserConfig = z.output<typeof userSchema>;
export { address };
