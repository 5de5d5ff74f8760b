/**
 * Turns what node:net, node:tls, node:dns and nodemailer throw into one short sentence for a report row, so an
 * unreachable host or a failed handshake reads as a finding rather than a stack trace.
 */

/** An operation that got no answer within --timeout. */
export class TimeoutError extends Error {
  constructor(step: string, ms: number) {
    super(`${step}: no answer within ${ms / 1000} s`);
    this.name = "TimeoutError";
  }
}

const NETWORK: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by the server",
  EPIPE: "connection closed by the server",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  ENOTFOUND: "name does not resolve",
  EAI_AGAIN: "name lookup failed (temporary DNS failure)",
  ENODATA: "no such DNS record",
  ESERVFAIL: "DNS server failure",
  EREFUSED: "DNS server refused the query",
  ETIMEOUT: "DNS query timed out",
};

/** OpenSSL's reason from "...:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:...". */
function opensslReason(message: string): string | undefined {
  return /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1]?.trim();
}

export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as NodeJS.ErrnoException).code;
  if (e instanceof TimeoutError) return e.message;
  if (code !== undefined && NETWORK[code]) return NETWORK[code];
  if (code?.startsWith("ERR_SSL_")) return `TLS handshake failed: ${opensslReason(e.message) ?? code}`;
  // Certificate verification errors carry OpenSSL's verify code ("CERT_HAS_EXPIRED") and a readable message.
  if (code !== undefined && /CERT|SIGNATURE|ISSUER/.test(code)) return `certificate: ${e.message} (${code})`;
  const first = e.message.split("\n")[0] ?? "";
  return opensslReason(first) ? `TLS: ${opensslReason(first)}` : first;
}

/** Whether a failed handshake is the server saying no (an alert, a reset), as opposed to no answer at all. */
export function isTlsRefusal(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ERR_SSL_NO_PROTOCOLS_AVAILABLE") return false; // our own client could not offer the version
  return code?.startsWith("ERR_SSL_") === true || code === "ECONNRESET" || code === "EPIPE" || (e instanceof Error && /socket disconnected before secure TLS connection/i.test(e.message));
}
