/**
 * Normalize: the files a host's config names are read now, so that a missing file is a config error and the rest of
 * the code only ever sees values (privateKey, hostKey, chainPem, keyPem). The result is a new object, frozen: the
 * parsed config is left as it was, and nothing after validation can change or has to re-check what it holds.
 */
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { LETS_ENCRYPT } from "./certificateSchema";
import { sshPublicKey, type ParsedHost, type SecretString } from "./schema";

/** Deeply read-only, except Pulumi Outputs, which are values to us and stay as they are. */
export type Frozen<T> = T extends pulumi.Output<unknown>
  ? T
  : T extends readonly (infer E)[]
    ? readonly Frozen<E>[]
    : T extends object
      ? { readonly [K in keyof T]: Frozen<T[K]> }
      : T;

type ParsedCertificate = ParsedHost["certificate"];
type ParsedAcme = Extract<ParsedCertificate, { mode: "acme" }>;
/** ACME with its directory decided: Let's Encrypt production in production stacks, its staging elsewhere. */
type AcmeCertificate = Omit<ParsedAcme, "server"> & { server: string };
type ResolvedCertificate =
  | Exclude<ParsedCertificate, { mode: "provided" | "acme" }>
  | AcmeCertificate
  | { mode: "provided"; chainPem: SecretString; keyPem: SecretString; earlyRenewalHours: number };
type ResolvedConnection = Omit<ParsedHost["connection"], "privateKey" | "privateKeyFile" | "hostKeyFile"> & { privateKey: SecretString };

/** DKIM with its defaults applied: on or off, and the signing domains named. */
type ResolvedDkim = Omit<ParsedHost["dkim"], "enabled" | "domains"> & { enabled: boolean; domains: string[] };

/** The switches whose default depends on the stack (on in production), decided. */
type ResolvedLimits = Omit<ParsedHost["limits"], "outbound"> & { outbound: boolean };
type ResolvedBans = Omit<ParsedHost["bans"], "enabled"> & { enabled: boolean };

/** A host's config as everything after validation reads it: every default applied, every file read. */
export type HostConfig = Frozen<
  Omit<ParsedHost, "connection" | "certificate" | "dkim" | "limits" | "bans"> & {
    connection: ResolvedConnection;
    certificate: ResolvedCertificate;
    dkim: ResolvedDkim;
    limits: ResolvedLimits;
    bans: ResolvedBans;
  }
>;

export interface Resolved {
  /** Complete only when `problems` is empty; the rules (config/parse.ts) still look at it to report everything at once. */
  readonly host: HostConfig;
  readonly problems: readonly string[];
}

/** The domains the users send from: their logins and senders, or systemDomains with the system backend. */
export function userDomains(parsed: Pick<ParsedHost, "users" | "authBackend" | "senderPolicy">): string[] {
  const addresses = parsed.authBackend === "system" ? parsed.senderPolicy.systemDomains.map((d) => `@${d}`) : parsed.users.flatMap((u) => [u.name, ...(u.senders ?? [])]);
  const domains = addresses.filter((a) => a.includes("@")).map((a) => a.slice(a.lastIndexOf("@") + 1).toLowerCase());
  return [...new Set(domains.filter((d) => d !== ""))].sort();
}

export function resolveHost(parsed: ParsedHost, at: string, production = false): Resolved {
  const problems: string[] = [];
  const read = (key: string, path: string): string => {
    try {
      return readFileSync(path, "utf8");
    } catch (e) {
      problems.push(`${at}.${key}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      return "";
    }
  };
  /** The value given inline or in a file, exactly one of them. */
  const oneOf = (value: SecretString | undefined, file: string | undefined, key: string, fileKey: string): SecretString => {
    if ((value === undefined) === (file === undefined)) {
      problems.push(`${at}.${key}: exactly one of ${key.split(".").pop()} or ${fileKey.split(".").pop()} is required`);
      return "";
    }
    return value ?? read(fileKey, file ?? "");
  };

  // In the order an operator reads the file: certificate, then the connection's key, then its host key.
  let certificate: ResolvedCertificate;
  const cert = parsed.certificate;
  if (cert.mode === "provided") {
    const chainPem = oneOf(cert.chainPem, cert.chainFile, "certificate.chainPem", "certificate.chainFile");
    const keyPem = oneOf(cert.keyPem, cert.keyFile, "certificate.keyPem", "certificate.keyFile");
    certificate = { mode: "provided", chainPem, keyPem, earlyRenewalHours: cert.earlyRenewalHours };
  } else if (cert.mode === "acme") {
    certificate = { ...cert, server: cert.server ?? (production ? LETS_ENCRYPT.production : LETS_ENCRYPT.staging) };
  } else {
    certificate = cert;
  }
  const { privateKey, privateKeyFile, hostKeyFile, ...connection } = parsed.connection;
  const resolvedKey = oneOf(privateKey, privateKeyFile, "connection.privateKey", "connection.privateKeyFile");
  let hostKey = connection.hostKey;
  if (hostKey !== undefined && hostKeyFile !== undefined) {
    problems.push(`${at}.connection.hostKeyFile: give hostKey or hostKeyFile, not both`);
  } else if (hostKeyFile !== undefined) {
    const before = problems.length;
    // known_hosts style files may carry a comment after the key: keep type and key only.
    const key = read("connection.hostKeyFile", hostKeyFile).trim().split(/\s+/).slice(0, 2).join(" ");
    if (sshPublicKey.safeParse(key).success) hostKey = key;
    else if (problems.length === before) problems.push(`${at}.connection.hostKeyFile: ${hostKeyFile} does not hold an OpenSSH public host key`);
  }
  const dkimEnabled = parsed.dkim.enabled ?? production;
  const dkimDomains = parsed.dkim.domains ?? userDomains(parsed);
  if (dkimEnabled && dkimDomains.length === 0) {
    problems.push(`${at}.dkim.domains: required: no user's login or sender names a domain to sign for (or set dkim.enabled: false)`);
  }
  const host = {
    ...parsed,
    dkim: { ...parsed.dkim, enabled: dkimEnabled, domains: dkimDomains },
    limits: { ...parsed.limits, outbound: parsed.limits.outbound ?? production },
    bans: { ...parsed.bans, enabled: parsed.bans.enabled ?? production },
    connection: { ...connection, ...(hostKey === undefined ? {} : { hostKey }), privateKey: resolvedKey },
    certificate,
  };
  return { host: deepFreeze(host), problems };
}

/** Freezes plain objects and arrays all the way down; Pulumi Outputs are left alone (the SDK manages their state). */
export function deepFreeze<T>(value: T): Frozen<T> {
  if (value !== null && typeof value === "object" && !pulumi.Output.isInstance(value) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value as Frozen<T>;
}
