/**
 * TLS 1.0 and 1.1 must be refused on every port (RFC 8314 section 4.1, RFC 8996), asked by a client that offers them.
 * On implicit TLS the handshake alone decides, whatever protocol would follow (SMTP, IMAP, POP3).
 */
import type * as tls from "node:tls";
import { endpoint, row, type CheckContext } from "../context";
import { describeError, isTlsRefusal } from "../errors";
import { clientCannotOffer, PROBE_CIPHERS, type LegacyVersion } from "../legacyTls";
import { connect, RawSession, waitFor } from "../session";
import { describeReply } from "../smtp";
import type { Row } from "../types";

const VERSIONS: readonly [LegacyVersion, string][] = [["TLSv1", "tls1.0-refused"], ["TLSv1.1", "tls1.1-refused"]];

export async function checkLegacyTls(ctx: CheckContext, port: number, starttls: boolean): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [version, check] of VERSIONS) {
    const cannot = await clientCannotOffer(version, ctx.options.timeoutMs);
    if (cannot !== undefined) {
      rows.push(row(ctx, port, check, "WARN", `not tested: ${cannot}, so a refusal would prove nothing`));
      continue;
    }
    rows.push(await probe(ctx, port, starttls, version, check));
  }
  return rows;
}

async function probe(ctx: CheckContext, port: number, starttls: boolean, version: LegacyVersion, check: string): Promise<Row> {
  // Only the protocol is under test here, so the certificate is not checked.
  const options = { minVersion: version, maxVersion: version, ciphers: PROBE_CIPHERS, rejectUnauthorized: false } as const;
  let session: RawSession | undefined;
  let socket: tls.TLSSocket | undefined;
  try {
    if (starttls) {
      session = await RawSession.open(endpoint(ctx, port));
      await session.ehlo();
      const reply = await session.startTls(options);
      if (reply.code !== 220) return row(ctx, port, check, "SKIP", `STARTTLS refused: ${describeReply(reply)}`);
      socket = session.tlsSocket;
    } else {
      const ep = endpoint(ctx, port);
      socket = connect(ep, options);
      await waitFor(socket, "secureConnect", `TLS connect to ${ep.address}:${ep.port}`, ep.timeoutMs);
    }
    return row(ctx, port, check, "FAIL", `${socket?.getProtocol() ?? version} accepted (${socket?.getCipher().name ?? "?"})`);
  } catch (e) {
    if (isTlsRefusal(e)) return row(ctx, port, check, "PASS", `${version} refused: ${describeError(e)}`);
    // No answer or no connection says nothing about the protocol: the connect/handshake rows report the cause.
    return row(ctx, port, check, "WARN", `inconclusive: ${describeError(e)}`);
  } finally {
    session?.close();
    socket?.destroy();
  }
}
