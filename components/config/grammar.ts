/**
 * Grammars of the values that reach a host file. Each admits only what its target format reads as one value:
 * Dovecot's passwd-file splits at ":", Postfix's texthash maps at white space and drop lines that start with "#",
 * master.cf splits `-o name=value` at white space, nft and firewall-cmd parse addresses themselves. Addresses, CIDRs
 * and SSH keys are parsed with well-kept libraries (validator, ipaddr.js, sshpk), not with hand-written patterns.
 */
import ipaddr from "ipaddr.js";
import sshpk from "sshpk";
import isEmail from "validator/lib/isEmail";
import isFQDN from "validator/lib/isFQDN";

/**
 * An envelope sender as RFC 5321 writes it (Dot-string local part; a Domain, no address literal), minus what the
 * maps cannot hold as one key: a quoted local part (it may contain white space) and a leading "#" (a comment line).
 */
export function isSenderAddress(s: string): boolean {
  return !s.startsWith("#") && isEmail(s, { allow_utf8_local_part: false, require_tld: true, allow_ip_domain: false, blacklisted_chars: '"' });
}

export function isDomain(s: string): boolean {
  return isFQDN(s, { require_tld: true, allow_underscores: false, allow_trailing_dot: false, allow_numeric_tld: false });
}

export interface Cidr {
  readonly family: 4 | 6;
  /** Canonical text: dotted quad or RFC 5952 IPv6, with the prefix length. */
  readonly text: string;
}

/**
 * A source network for the firewall: an address or a CIDR, strictly written. ipaddr.js alone would read
 * "010.0.0.0" as octal and "/08" as 8, and keeps IPv6 zone ids ("fe80::1%eth0"), none of which nft accepts.
 * Returns a reason when the text is not one network.
 */
export function parseCidr(s: string): Cidr | string {
  const [addr = "", len, ...rest] = s.split("/");
  if (rest.length > 0) return "has more than one '/'";
  const family = ipaddr.IPv4.isValidFourPartDecimal(addr) ? 4 : ipaddr.IPv6.isValid(addr) && !addr.includes("%") ? 6 : 0;
  if (family === 0) return addr.includes("%") ? "IPv6 zone ids (%eth0) are not allowed" : "is not an IPv4 or IPv6 address";
  const max = family === 4 ? 32 : 128;
  if (len !== undefined && !/^(0|[1-9][0-9]*)$/.test(len)) return "the prefix length must be a plain number";
  const bits = len === undefined ? max : Number(len);
  if (bits > max) return `the prefix length must be at most ${max}`;
  const parsed = ipaddr.parse(addr);
  const text = `${parsed.toString()}/${bits}`;
  const network = family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
  if (network.toString() !== parsed.toString()) return `has host bits set (the network is ${network.toString()}/${bits})`;
  return { family, text };
}

const SSH_TYPES: Record<string, string> = {
  "ssh-ed25519": "ed25519",
  "ecdsa-sha2-nistp256": "ecdsa",
  "ecdsa-sha2-nistp384": "ecdsa",
  "ecdsa-sha2-nistp521": "ecdsa",
  "ssh-rsa": "rsa",
};

/** An OpenSSH public host key, `type base64`, whose blob decodes to a key of that very type. Returns a reason or undefined. */
export function sshHostKeyProblem(s: string): string | undefined {
  const [type = "", blob, ...rest] = s.split(" ");
  if (blob === undefined || rest.length > 0) return "must be 'TYPE BASE64' such as 'ssh-ed25519 AAAA…' (see ssh-keyscan -t ed25519 HOST)";
  const kind = SSH_TYPES[type];
  if (kind === undefined) return `key type '${type}' is not one of ${Object.keys(SSH_TYPES).join(", ")}`;
  try {
    const key = sshpk.parseKey(`${type} ${blob}`, "ssh");
    if (key.type !== kind) return `the key is ${key.type}, not ${type}`;
    if (kind === "ecdsa" && `ecdsa-sha2-nist${key.curve}` !== type) return `the key's curve is ${key.curve}, not ${type}`;
    if (kind === "rsa" && key.size < 2048) return `an RSA key of ${key.size} bits is too weak (at least 2048)`;
  } catch {
    return `does not decode to a ${type} key`;
  }
  return undefined;
}

const B64 = "[A-Za-z0-9+/]";
const CRYPT64 = "[./A-Za-z0-9]";
/**
 * Dovecot password hashes, per scheme, as the tools that make them write them (`doveadm pw`, mkpasswd, argon2).
 * None admits ":" or white space, so a hash is always one passwd-file field.
 */
export const HASH_SCHEMES: Record<string, RegExp> = {
  "SHA512-CRYPT": new RegExp(`^\\$6\\$(rounds=[1-9][0-9]{3,8}\\$)?${CRYPT64}{1,16}\\$${CRYPT64}{86}$`),
  "SHA256-CRYPT": new RegExp(`^\\$5\\$(rounds=[1-9][0-9]{3,8}\\$)?${CRYPT64}{1,16}\\$${CRYPT64}{43}$`),
  "BLF-CRYPT": new RegExp(`^\\$2[abxy]\\$(0[4-9]|[12][0-9]|3[01])\\$${CRYPT64}{53}$`),
  ARGON2ID: new RegExp(`^\\$argon2id\\$v=19\\$m=[1-9][0-9]{0,9},t=[1-9][0-9]{0,9},p=[1-9][0-9]{0,3}\\$${B64}{11,}\\$${B64}{16,}$`),
  ARGON2I: new RegExp(`^\\$argon2i\\$v=19\\$m=[1-9][0-9]{0,9},t=[1-9][0-9]{0,9},p=[1-9][0-9]{0,3}\\$${B64}{11,}\\$${B64}{16,}$`),
};

/** `{SCHEME}hash` with a known scheme and a hash of that scheme's form; returns a reason or undefined. */
export function passwordHashProblem(s: string): string | undefined {
  const m = /^\{([A-Z0-9-]+)\}(.*)$/s.exec(s);
  if (m === null) return "must be a Dovecot hash such as {SHA512-CRYPT}$6$… (doveadm pw -s SHA512-CRYPT)";
  const [, scheme = "", hash = ""] = m;
  const form = HASH_SCHEMES[scheme];
  if (form === undefined) return `scheme {${scheme}} is not one of ${Object.keys(HASH_SCHEMES).map((k) => `{${k}}`).join(", ")}`;
  return form.test(hash) ? undefined : `is not a well-formed {${scheme}} hash`;
}

/** A master.cf `-o` value: one token of printable ASCII; braces would open Postfix's `{ … }` quoting. */
export const POSTFIX_VALUE = /^[\x21-\x7a\x7c\x7e]*$/;

/** A guarded setting: the names it covers, and the promise it carries (postfix/guards.ts, dovecot/guards.ts). */
export interface Guard {
  readonly match: RegExp;
  readonly guarantee: string;
}

/** The promise a setting named `name` carries, if any guard covers it. */
export function guardFor(guards: readonly Guard[], name: string): string | undefined {
  return guards.find((g) => g.match.test(name))?.guarantee;
}
