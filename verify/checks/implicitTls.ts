/**
 * Port 465 as a client sees it (RFC 8314 section 3.3): TLS from the first byte, a certificate it can trust for the
 * hostname, and AUTH offered inside TLS.
 */
import { endpoint, row, type CheckContext } from "../context";
import { describeError } from "../errors";
import { RawSession } from "../session";
import { authMechanisms } from "../smtp";
import type { Row } from "../types";
import { certificateFacts, certificateRows, certificateUsable, inspectOnly } from "./certificate";

export interface PortResult {
  rows: Row[];
  /** TLS came up: the per-port checks that follow are worth running. */
  tls: boolean;
  /** The certificate is one a client would accept: only then is a password sent. */
  certificateUsable: boolean;
}

export async function checkImplicitTls(ctx: CheckContext, port: number): Promise<PortResult> {
  let session: RawSession;
  try {
    session = await RawSession.open(endpoint(ctx, port), inspectOnly(ctx));
  } catch (e) {
    return { rows: [row(ctx, port, "implicit-tls", "FAIL", describeError(e))], tls: false, certificateUsable: false };
  }
  try {
    const socket = session.tlsSocket;
    if (!socket) throw new Error("internal error: implicit TLS session without a TLS socket");
    const rows = [row(ctx, port, "implicit-tls", "PASS", `${socket.getProtocol()} ${socket.getCipher().name}, greeting 220`)];
    rows.push(...certificateRows(ctx, port, certificateFacts(socket, ctx.target.hostname)));
    const mechanisms = authMechanisms(await session.ehlo());
    rows.push(mechanisms.length > 0
      ? row(ctx, port, "auth-offered", "PASS", `AUTH ${mechanisms.join(" ")}`)
      : row(ctx, port, "auth-offered", "FAIL", "no AUTH advertised inside TLS: clients cannot log in"));
    return { rows, tls: true, certificateUsable: certificateUsable(rows) };
  } catch (e) {
    return { rows: [row(ctx, port, "implicit-tls", "FAIL", describeError(e))], tls: false, certificateUsable: false };
  } finally {
    await session.quit();
  }
}
