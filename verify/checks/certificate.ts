/**
 * What a mail client decides about the certificate a port served: does the chain lead to a trusted root, is it
 * valid for the hostname, how long until it expires, and (with a stack) is it still the one Pulumi deployed.
 * The decisions are pure functions of the certificate's facts; only `certificateFacts` touches a socket.
 */
import * as tls from "node:tls";
import { row, type CheckContext } from "../context";
import type { Row, Status } from "../types";

export interface CertificateFacts {
  authorized: boolean;
  authorizationError?: string;
  /** Error of tls.checkServerIdentity for the target's hostname, undefined when the name matches. */
  identityError?: string;
  notAfter: Date;
  /** Lower-case hex without colons. */
  sha256: string;
}

const DAY_MS = 86_400_000;
const days = (n: number): string => `${n} day${n === 1 ? "" : "s"}`;

/**
 * TLS options for a handshake whose certificate is judged afterwards, row by row: not rejected on the spot, and
 * without node's own name check, which would otherwise fold a wrong name into `authorized` and report it twice.
 */
export function inspectOnly(ctx: CheckContext): tls.ConnectionOptions {
  return { ca: ctx.trust.ca, rejectUnauthorized: false, checkServerIdentity: () => undefined };
}

export function certificateFacts(socket: tls.TLSSocket, hostname: string): CertificateFacts {
  const cert = socket.getPeerCertificate();
  const identity = tls.checkServerIdentity(hostname, cert);
  // authorizationError is typed as Error, but node sets it to OpenSSL's code ("CERT_HAS_EXPIRED").
  const authorizationError = socket.authorizationError ? String(socket.authorizationError) : undefined;
  return {
    authorized: socket.authorized,
    ...(authorizationError ? { authorizationError } : {}),
    ...(identity ? { identityError: identity.message } : {}),
    notAfter: new Date(cert.valid_to),
    sha256: cert.fingerprint256.replaceAll(":", "").toLowerCase(),
  };
}

/** FAIL under `failDays` days left (or expired), WARN under `warnDays`, else PASS. Days are whole days, rounded down. */
export function expiryStatus(notAfter: Date, now: Date, warnDays: number, failDays: number): { status: Status; detail: string } {
  const ms = notAfter.getTime() - now.getTime();
  if (Number.isNaN(ms)) return { status: "FAIL", detail: "the certificate has no readable expiry date" };
  const when = notAfter.toISOString().replace(".000Z", "Z");
  if (ms <= 0) {
    const ago = Math.floor(-ms / DAY_MS);
    return { status: "FAIL", detail: `expired ${ago === 0 ? "less than a day" : days(ago)} ago (${when})` };
  }
  const left = Math.floor(ms / DAY_MS);
  const detail = `${days(left)} left (until ${when})`;
  if (left < failDays) return { status: "FAIL", detail: `${detail}, under --fail-days ${failDays}` };
  if (left < warnDays) return { status: "WARN", detail: `${detail}, under --warn-days ${warnDays}` };
  return { status: "PASS", detail };
}

export function certificateRows(ctx: CheckContext, port: number, facts: CertificateFacts): Row[] {
  const { warnDays, failDays } = ctx.options;
  const expiry = expiryStatus(facts.notAfter, ctx.now, warnDays, failDays);
  const rows = [
    facts.authorized
      ? row(ctx, port, "certificate-trusted", "PASS", `chain verifies against ${ctx.trust.source}`)
      : row(ctx, port, "certificate-trusted", "FAIL", `${facts.authorizationError ?? "chain does not verify"} (against ${ctx.trust.source})`),
    facts.identityError === undefined
      ? row(ctx, port, "certificate-hostname", "PASS", `valid for ${ctx.target.hostname}`)
      : row(ctx, port, "certificate-hostname", "FAIL", facts.identityError),
    row(ctx, port, "certificate-expiry", expiry.status, expiry.detail),
  ];
  const expected = ctx.target.certificateSha256?.toLowerCase();
  if (expected !== undefined) {
    rows.push(
      facts.sha256 === expected
        ? row(ctx, port, "certificate-deployed", "PASS", "the certificate the stack deployed")
        : row(ctx, port, "certificate-deployed", "FAIL", `serves sha256 ${facts.sha256.slice(0, 16)}..., the stack deployed ${expected.slice(0, 16)}...`),
    );
  }
  return rows;
}

/** True when a client would go on with this connection (and may be given a password): trusted chain, right name. */
export function certificateUsable(rows: readonly Row[]): boolean {
  // An expired certificate already fails the chain check, so expiry needs no rule of its own here.
  const gate = rows.filter((r) => r.check === "certificate-trusted" || r.check === "certificate-hostname");
  return gate.length === 2 && gate.every((r) => r.status === "PASS");
}
