/**
 * Does a TLS handshake pinned to a protocol range complete, on implicit TLS or after STARTTLS? The e2e harness asks
 * it to show that a host refuses TLS 1.0/1.1, and that a host weakened on purpose accepts them. Below TLS 1.2 the
 * cipher list is the probe's (see legacyTls), so that a refusal comes from the server, not from this client.
 */
import type * as tls from "node:tls";
import { describeError, TimeoutError } from "./errors";
import { PROBE_CIPHERS } from "./legacyTls";
import { connect, RawSession, waitFor, type Endpoint } from "./session";
import { describeReply } from "./smtp";

export type HandshakeResult = { ok: true; protocol: string; cipher: string } | { ok: false; error: string };

export async function tryTlsHandshake(
  ep: Endpoint,
  opts: { starttls: boolean; minVersion: tls.SecureVersion; maxVersion: tls.SecureVersion; ciphers?: string },
): Promise<HandshakeResult> {
  const legacy = opts.maxVersion === "TLSv1" || opts.maxVersion === "TLSv1.1";
  const ciphers = opts.ciphers ?? (legacy ? PROBE_CIPHERS : undefined);
  // Only the protocol negotiation is under test, not the certificate.
  const options: tls.ConnectionOptions = { minVersion: opts.minVersion, maxVersion: opts.maxVersion, rejectUnauthorized: false, ...(ciphers ? { ciphers } : {}) };
  return opts.starttls ? afterStartTls(ep, options) : implicit(ep, options);
}

/** A timeout names its step already. */
function failed(step: string, e: unknown): HandshakeResult {
  return { ok: false, error: e instanceof TimeoutError ? e.message : `${step}: ${describeError(e)}` };
}

async function afterStartTls(ep: Endpoint, options: tls.ConnectionOptions): Promise<HandshakeResult> {
  let session: RawSession;
  try {
    session = await RawSession.open(ep);
  } catch (e) {
    return failed("before STARTTLS", e);
  }
  try {
    await session.ehlo();
    const reply = await session.startTls(options);
    if (reply.code !== 220) return { ok: false, error: `STARTTLS refused: ${describeReply(reply)}` };
    const info = session.tlsInfo();
    return { ok: true, protocol: info.protocol ?? "unknown", cipher: info.cipher };
  } catch (e) {
    return failed("STARTTLS handshake", e);
  } finally {
    session.close();
  }
}

/** Only the handshake matters here, so no SMTP greeting is awaited. */
async function implicit(ep: Endpoint, options: tls.ConnectionOptions): Promise<HandshakeResult> {
  const socket = connect(ep, options);
  socket.on("error", () => undefined); // an error after the verdict (a reset as it is torn down) changes nothing
  try {
    await waitFor(socket, "secureConnect", "TLS handshake", ep.timeoutMs);
    return { ok: true, protocol: socket.getProtocol() ?? "unknown", cipher: socket.getCipher().name };
  } catch (e) {
    return failed("TLS handshake", e);
  } finally {
    socket.destroy();
  }
}
