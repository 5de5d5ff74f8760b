/**
 * `acme` mode as data for the host: the ACME client's (lego's) arguments, its environment, and the systemd timer
 * that renews. lego is Debian's own package on both releases (one static binary, about 100 DNS providers, rfc2136
 * among them); certbot would bring a Python stack and plugins per provider. Pure: everything here is rendered text.
 */
import type { HostConfig } from "../config/resolve";
import { ACME_UNIT_NAME, HOST_PATHS } from "../host/contract";
import type { AcmeKeyAlgorithm } from "./algorithms";

type AcmeCertificate = Extract<HostConfig["certificate"], { mode: "acme" }>;

/** lego's --key-type for each of our algorithms. */
export const LEGO_KEY_TYPES: Record<AcmeKeyAlgorithm, string> = { "ECDSA-P256": "ec256", "ECDSA-P384": "ec384", "RSA-4096": "rsa4096" };

/** lego's global options, one per line (the host script reads them into an array, never through a shell). */
export function legoArgs(cert: AcmeCertificate, names: readonly string[]): string[] {
  const args = ["--server", cert.server, "--accept-tos", "--key-type", LEGO_KEY_TYPES[cert.algorithm], "--path", HOST_PATHS.ACME_DIR];
  if (cert.email !== undefined) args.push("--email", cert.email);
  for (const name of names) args.push("--domains", name);
  const c = cert.challenge;
  switch (c.type) {
    case "http-01":
      args.push("--http", ...(c.webroot === undefined ? ["--http.port", ":80"] : ["--http.webroot", c.webroot]));
      break;
    case "tls-alpn-01":
      args.push("--tls", "--tls.port", ":443");
      break;
    case "dns-01":
      args.push("--dns", c.provider, ...c.resolvers.flatMap((r) => ["--dns.resolvers", r]));
      break;
  }
  return args;
}

/** The port the challenge needs open while it runs, or none (a webroot's web server or DNS answers it). */
export function challengePort(cert: AcmeCertificate): number | undefined {
  const c = cert.challenge;
  if (c.type === "http-01") return c.webroot === undefined ? 80 : undefined;
  return c.type === "tls-alpn-01" ? 443 : undefined;
}

/** `NAME=value` lines for the client's environment: the DNS provider's credentials (secrets, one line each). */
export function legoEnvironment(cert: AcmeCertificate): string[] {
  return cert.challenge.type === "dns-01" ? Object.entries(cert.challenge.credentials).map(([k, v]) => `${k}=${v}`) : [];
}

/** lego renews when fewer than this many days are left. */
export const renewalDays = (cert: AcmeCertificate): number => Math.ceil(cert.earlyRenewalHours / 24);

/** The daily renewal: a oneshot service (a failed renewal is a failed unit, with its reason in the journal) and its timer. */
export function acmeUnits(): { service: string; timer: string } {
  return {
    service: [
      "# mail-submission: renews the ACME certificate and installs it when it changed (certificate step)",
      "[Unit]",
      "Description=mail-submission ACME certificate renewal",
      "Wants=network-online.target",
      "After=network-online.target",
      "",
      "[Service]",
      "Type=oneshot",
      `ExecStart=${HOST_PATHS.ACME_RENEW} renew`,
      "",
    ].join("\n"),
    timer: [
      "# mail-submission: daily, at a random time of the day, so that many hosts do not ask the CA at once",
      "[Unit]",
      `Description=Daily ${ACME_UNIT_NAME} renewal`,
      "",
      "[Timer]",
      "OnCalendar=daily",
      "RandomizedDelaySec=1d",
      "Persistent=true",
      "",
      "[Install]",
      "WantedBy=timers.target",
      "",
    ].join("\n"),
  };
}
